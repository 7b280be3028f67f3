import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveEnvironment } from '../../src/model/environment.js';
import { durationMs } from '../../src/duration.js';
import { planStart, selectServices, withoutServices } from '../../src/plan/start.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { SHIPPED_SCHEMA } from '../helpers/paths.js';

const file = (await validateStackText(readFileSync(SHIPPED_SCHEMA, 'utf8'), { fileName: 's' }))
  .file as StackFile;

describe('planStart', () => {
  it('starts stacks in dependency order: core, inference, ai, ui', () => {
    const model = resolveEnvironment(file, 'development');
    const plan = planStart(file, model, ['-p', 'x'], {});
    expect(plan.steps.map((step) => step.stack)).toEqual(['core', 'inference', 'ai', 'ui']);
    expect(plan.steps[0]?.args).toEqual([
      '-p',
      'x',
      'up',
      '--detach',
      'postgres',
      'redis',
      'qdrant',
      'minio',
    ]);
  });

  it('creates each later stack ahead with --no-start and records what waits for what within a stack', () => {
    const plan = planStart(file, resolveEnvironment(file, 'development'), ['-p', 'x'], {});
    const inference = plan.steps.find((step) => step.stack === 'inference');
    expect(inference?.createArgs).toEqual(['-p', 'x', 'up', '--no-start', '--no-deps', 'vllm', 'litellm']);
    // litellm also waits for postgres (core), which is ready before inference starts at all.
    expect(inference?.after).toEqual({
      vllm: [],
      litellm: [{ service: 'vllm', condition: 'service_started' }],
    });
    const ai = plan.steps.find((step) => step.stack === 'ai');
    expect(ai?.after['retrieval-proxy']).toEqual([
      { service: 'multimodal-worker', condition: 'service_healthy' },
    ]);
  });

  it('drops services from a step, and what waited for them, without touching the rest', () => {
    const model = resolveEnvironment(file, 'development');
    const plan = planStart(file, model, ['-p', 'x'], {});
    const inference = plan.steps.find((step) => step.stack === 'inference');
    if (!inference) throw new Error('no inference step');
    const rest = withoutServices(plan, inference, new Set(['vllm']));
    expect(rest?.services).toEqual(['litellm']);
    expect(rest?.args).toEqual(['-p', 'x', 'up', '--detach', '--no-deps', 'litellm']);
    expect(rest?.after).toEqual({ litellm: [] });
    expect(withoutServices(plan, inference, new Set(['vllm', 'litellm']))).toBeUndefined();
    const core = plan.steps[0];
    if (!core) throw new Error('no core step');
    expect(withoutServices(plan, core, new Set(['redis']))?.args).not.toContain('--no-deps');
  });

  it('puts monitoring after core in production', () => {
    const plan = planStart(file, resolveEnvironment(file, 'production'), [], {});
    const order = plan.steps.map((step) => step.stack);
    expect(order.indexOf('monitoring')).toBeGreaterThan(order.indexOf('core'));
  });

  it('budgets each wait from its healthcheck: start period + retries × (interval + timeout) + slack', () => {
    const plan = planStart(file, resolveEnvironment(file, 'development'), [], {});
    const vllm = plan.waits.find((wait) => wait.service === 'vllm');
    expect(vllm?.budgetMs).toBe(600_000 + 5 * (60_000 + 30_000) + 15_000);
    const testing = planStart(file, resolveEnvironment(file, 'testing'), [], {});
    expect(testing.waits.find((wait) => wait.service === 'allure-results')?.budgetMs).toBe(
      10_000 + 5 * 8_000 + 15_000,
    );
  });

  it('a --service selection brings its dependencies along', () => {
    const model = resolveEnvironment(file, 'development');
    const names = selectServices(model, { services: ['litellm'] }).map((service) => service.name);
    expect(names.sort()).toEqual(['litellm', 'postgres', 'vllm']);
  });
});

describe('durationMs', () => {
  it('reads compose durations', () => {
    expect(durationMs('1m30s')).toBe(90_000);
    expect(durationMs('500ms')).toBe(500);
    expect(() => durationMs('soon')).toThrow();
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveEnvironment } from '../../src/model/environment.js';
import { durationMs } from '../../src/duration.js';
import {
  launchGraph,
  planStart,
  selectServices,
  stopGraph,
  waitsMet,
  type StartPlan,
} from '../../src/plan/start.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { SHIPPED_SCHEMA } from '../helpers/paths.js';

const file = (await validateStackText(readFileSync(SHIPPED_SCHEMA, 'utf8'), { fileName: 's' }))
  .file as StackFile;

describe('planStart', () => {
  const waitsFor = (plan: StartPlan, service: string): string[] =>
    (plan.graph.find((node) => node.service === service)?.waitsFor ?? []).map(
      (dep) => `${dep.service}:${dep.condition}`,
    );

  it('creates what waits for no other stack first, the rest while those start', () => {
    const model = resolveEnvironment(file, 'development');
    const plan = planStart(file, model, ['-p', 'x'], {});
    expect(plan.create.map((step) => step.args)).toEqual([
      ['-p', 'x', 'up', '--no-start', '--no-deps', 'postgres', 'redis', 'qdrant', 'minio'],
      [
        '-p',
        'x',
        'up',
        '--no-start',
        '--no-deps',
        ...model.services
          .map((service) => service.name)
          .filter((name) => !['postgres', 'redis', 'qdrant', 'minio'].includes(name)),
      ],
    ]);
    expect(plan.upArgs.slice(0, 4)).toEqual(['-p', 'x', 'up', '--detach']);
  });

  it('a service waits for its own depends_on and for every service of the stacks its stack depends on', () => {
    const plan = planStart(file, resolveEnvironment(file, 'development'), ['-p', 'x'], {});
    expect(waitsFor(plan, 'postgres')).toEqual([]);
    expect(waitsFor(plan, 'vllm')).toEqual([
      'postgres:service_ready',
      'redis:service_ready',
      'qdrant:service_ready',
      'minio:service_ready',
    ]);
    // Its own conditions come first and are kept as declared (postgres healthy, vllm started).
    expect(waitsFor(plan, 'litellm')).toEqual([
      'postgres:service_healthy',
      'vllm:service_started',
      'redis:service_ready',
      'qdrant:service_ready',
      'minio:service_ready',
    ]);
    // ai depends on core and inference; ui on core and ai, and so on inference too.
    expect(waitsFor(plan, 'retrieval-proxy')).toContain('multimodal-worker:service_healthy');
    expect(waitsFor(plan, 'retrieval-proxy')).toContain('litellm:service_ready');
    expect(waitsFor(plan, 'n8n')).toContain('vllm:service_ready');
    expect(waitsFor(plan, 'n8n')).toContain('user-management:service_ready');
  });

  it('stacks that do not depend on each other start side by side: monitoring waits for core only', () => {
    const plan = planStart(file, resolveEnvironment(file, 'production'), [], {});
    const prometheus = waitsFor(plan, 'prometheus');
    expect(prometheus).toEqual([
      'postgres:service_ready',
      'redis:service_ready',
      'qdrant:service_ready',
      'minio:service_ready',
    ]);
    expect(waitsFor(plan, 'grafana')).toEqual(['prometheus:service_healthy', ...prometheus]);
    // Neither waits for inference, ai or ui; they are created with those, after core.
    expect(plan.create[1]?.services).toEqual(
      expect.arrayContaining(['prometheus', 'grafana', 'vllm', 'nginx']),
    );
  });

  it('a cycle through depends_on and stack dependencies is refused, naming it', () => {
    const stacks = { core: { dependsOn: [] }, app: { dependsOn: ['core'] } };
    expect(() =>
      launchGraph(stacks, [
        { service: 'db', stack: 'core', dependsOn: [{ service: 'web', condition: 'service_started' }] },
        { service: 'web', stack: 'app', dependsOn: [] },
      ]),
    ).toThrow('services wait for each other in a circle: db → web → db');
  });

  it('stop runs the graph backwards: dependents first, independent stacks side by side', () => {
    const plan = planStart(file, resolveEnvironment(file, 'production'), [], {});
    const before = stopGraph(plan.graph);
    // postgres stops after everything that waits for it: every other stack's services.
    expect(before.get('postgres')).toEqual(
      expect.arrayContaining(['litellm', 'prometheus', 'grafana', 'nginx']),
    );
    expect(before.get('prometheus')).toEqual(['grafana']);
    expect(before.get('grafana')).toEqual([]);
    expect(before.get('nginx')).toEqual([]);
    // monitoring waits for no ui service and the other way round: they stop independently.
    expect(before.get('nginx')).not.toContain('prometheus');
    expect(before.get('prometheus')).not.toContain('nginx');
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

describe('waitsMet', () => {
  const node = {
    service: 'app',
    stack: 'ui',
    waitsFor: [
      { service: 'db', condition: 'service_healthy' as const },
      { service: 'migrate', condition: 'service_started' as const },
    ],
  };
  const seen = (launched: string[], ready: string[]) => ({
    launched: (service: string) => launched.includes(service),
    ready: (service: string) => ready.includes(service),
  });

  it('needs a started dependency launched and every other one ready', () => {
    expect(waitsMet(node, seen(['migrate', 'db'], ['db']))).toBe(true);
    expect(waitsMet(node, seen(['db'], ['db']))).toBe(false);
    expect(waitsMet(node, seen(['migrate', 'db'], []))).toBe(false);
    // Ready is not launched: a service_started dependency is not met by readiness alone.
    expect(waitsMet(node, seen([], ['db', 'migrate']))).toBe(false);
  });

  it('is met at once for a node that waits for nothing', () => {
    expect(waitsMet({ ...node, waitsFor: [] }, seen([], []))).toBe(true);
  });
});

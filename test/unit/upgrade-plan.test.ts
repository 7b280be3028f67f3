import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveEnvironment } from '../../src/model/environment.js';
import type { EffectiveService } from '../../src/plan/effective.js';
import {
  keepTagOf,
  releaseId,
  releaseToUndo,
  staleKeepTags,
  type ReleaseRecord,
} from '../../src/plan/release.js';
import {
  dataAtRisk,
  dataTouched,
  dependencyOrder,
  parseDryRun,
  planRollout,
  servicesNamedByReplica,
  strategyOf,
} from '../../src/plan/upgrade.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { REPO_ROOT } from '../helpers/paths.js';

const file = (
  await validateStackText(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'stacks', 'app.yaml'), 'utf8'), {
    fileName: 'app.yaml',
  })
).file as StackFile;
const model = resolveEnvironment(file, 'chain'); // db, web, seed, api

function service(overrides: Partial<EffectiveService> = {}): EffectiveService {
  return {
    replicas: 1,
    dependsOn: [],
    restart: 'unless-stopped',
    kind: 'service',
    build: false,
    publishesPorts: false,
    gpu: false,
    ...overrides,
  };
}

describe("reading compose's dry run", () => {
  it('takes the first word said of each container, and ignores the renamed copies it starts', () => {
    const output = [
      ' DRY-RUN MODE -  Container p-db-1  Running',
      ' DRY-RUN MODE -  Container p-web-1  Recreate',
      ' DRY-RUN MODE -  Container p-web-1  Recreated',
      ' DRY-RUN MODE -  Container p-new-1  Creating',
      ' DRY-RUN MODE -  Container 8434c13f9469_p-web-1  Starting',
    ].join('\n');
    expect([...parseDryRun(output)]).toEqual([
      ['p-db-1', 'keep'],
      ['p-web-1', 'recreate'],
      ['p-new-1', 'create'],
    ]);
  });
});

describe('the rollout plan', () => {
  it('orders services after what they depend on', () => {
    const effective = new Map(model.services.map((s) => [s.name, service()]));
    const order = dependencyOrder(model, effective);
    expect(order.indexOf('db')).toBeLessThan(order.indexOf('web'));
    expect(order.indexOf('web')).toBeLessThan(order.indexOf('api'));
    expect(order.indexOf('seed')).toBeLessThan(order.indexOf('api'));
  });

  it('runs two copies only where they can: no host port, no GPU, not a job', () => {
    expect(strategyOf(service()).strategy).toBe('start-first');
    expect(strategyOf(service({ publishesPorts: true }))).toEqual({
      strategy: 'stop-first',
      why: 'it publishes a host port',
    });
    expect(strategyOf(service({ gpu: true })).why).toBe('it reserves GPUs');
    expect(strategyOf(service({ kind: 'job' })).why).toBe('a job runs once');
    // nginx names a routed service's replicas one by one: new container numbers would not be routed.
    expect(strategyOf(service(), true).strategy).toBe('stop-first');
    expect([...servicesNamedByReplica(resolveEnvironment(file, 'proxied'))]).toEqual(['web']);
  });

  it('names why each service is recreated and leaves the unchanged ones out', () => {
    const effective = new Map([
      ['db', service()],
      ['web', service({ publishesPorts: true })],
      ['api', service()],
    ]);
    const steps = planRollout({
      order: ['db', 'web', 'api'],
      effective,
      composeAction: new Map([
        ['db', 'keep'],
        ['web', 'recreate'],
        ['api', 'recreate'],
      ]),
      imageChanged: new Set(['web']),
      configChanged: new Set(['api']),
    });
    expect(steps.map((step) => [step.service, step.reasons, step.strategy])).toEqual([
      ['web', ['image'], 'stop-first'],
      ['api', ['config'], 'start-first'],
    ]);
  });
});

describe('data at risk', () => {
  it('is what is recreated and what a recreated service depends on', () => {
    expect(dataAtRisk(model, ['api'], ['db'])).toEqual(['db']);
    expect(dataAtRisk(model, ['seed'], ['db'])).toEqual([]);
    expect(dataTouched(model, [], ['db'])).toEqual([]);
  });
});

describe('releases', () => {
  it('have ids that sort by time', () => {
    expect(releaseId(new Date('2026-12-07T03:15:00.123Z'), 'ab12')).toBe('20261207T031500Z-ab12');
    expect(keepTagOf('p-prod', '20261207T031500Z-ab12', 'web')).toBe(
      'stackctl-rollback/p-prod:20261207T031500Z-ab12.web',
    );
  });

  it('keep the images of the newest five releases', () => {
    const ids = ['1', '2', '3', '4', '5', '6'].map((n) => `2026120${n}T000000Z-0000`);
    const tags = ids.map((id) => keepTagOf('p', id, 'web'));
    expect(staleKeepTags(tags, ids)).toEqual([tags[0]]);
  });

  it('rollback undoes the newest release not undone yet, a killed one included', () => {
    const record = (id: string, state: ReleaseRecord['state'], of?: string): ReleaseRecord => ({
      id,
      environment: 'e',
      createdAt: '',
      by: '',
      command: '',
      state,
      plan: [],
      before: {},
      files: [],
      started: [],
      downtimeMs: {},
      ...(of === undefined ? {} : { of }),
    });
    const records = [record('a', 'succeeded'), record('b', 'succeeded'), record('c', 'rollback', 'b')];
    expect(releaseToUndo(records)?.id).toBe('a');
    expect(releaseToUndo([...records, record('d', 'in-progress')])?.id).toBe('d');
    expect(releaseToUndo([record('e', 'rolled-back')])).toBeUndefined();
    expect(releaseToUndo(records, 'b')?.id).toBe('b');
  });
});

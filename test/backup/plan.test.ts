// What a backup holds and what retention removes: pure functions over the shipped schema.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveEnvironment } from '../../src/model/environment.js';
import {
  backupId,
  chooseTier,
  evaluateRetention,
  findDamaged,
  planBackup,
  type BackupSummary,
} from '../../src/plan/backup.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { SHIPPED_SCHEMA } from '../helpers/paths.js';

const file = (await validateStackText(readFileSync(SHIPPED_SCHEMA, 'utf8'), { fileName: 'x.yaml' }))
  .file as StackFile;
const development = resolveEnvironment(file, 'development');

describe('planBackup', () => {
  it('backs up every service with data by its method, caches and model weights not at all, and the config last', () => {
    const steps = planBackup(file, development, { services: [], type: undefined });
    expect(steps.map((step) => `${step.service}:${step.type}:${step.file}`)).toEqual([
      'postgres:full:postgres.full.dump',
      'redis:rdb:redis.rdb',
      'qdrant:snapshot:qdrant.snapshots.tar',
      'minio:objects:minio.objects.tar',
      'openwebui:volume:openwebui.openwebui_data.tar',
      'n8n:volume:n8n.n8n_data.tar',
      'config:config:config.enc',
    ]);
    const postgres = steps[0];
    expect(postgres).toMatchObject({ method: 'postgres', database: 'multimodal', user: 'multimodal' });
    expect(steps[1]).toMatchObject({ method: 'redis', passwordVariable: 'REDIS_PASSWORD' });
  });

  it('backs up the vLLM model cache only with --include-models, and says so when vllm is named without it', () => {
    const withModels = planBackup(file, development, { services: [], type: undefined, includeModels: true });
    expect(withModels.map((step) => step.file)).toContain('vllm.vllm_cache.tar');
    expect(() => planBackup(file, development, { services: ['vllm'], type: undefined })).toThrow(
      'vllm holds no data to back up in development',
    );
    try {
      planBackup(file, development, { services: ['vllm'], type: undefined });
    } catch (error) {
      expect((error as { hint?: string }).hint).toContain('--include-models');
    }
  });

  it('takes a type for the services that have it, and refuses one a named service does not', () => {
    expect(planBackup(file, development, { services: ['postgres'], type: 'schema' })).toEqual([
      expect.objectContaining({ service: 'postgres', type: 'schema', file: 'postgres.schema.dump' }),
    ]);
    expect(planBackup(file, development, { services: [], type: 'aof' }).map((step) => step.file)).toEqual([
      'redis.aof.tar',
    ]);
    expect(() => planBackup(file, development, { services: ['postgres'], type: 'rdb' })).toThrow(
      'postgres cannot be backed up as --type rdb',
    );
    expect(() => planBackup(file, development, { services: ['nginx'], type: undefined })).toThrow(
      'nginx holds no data to back up in development',
    );
    expect(() => planBackup(file, development, { services: ['grafana'], type: undefined })).toThrow(
      'development has no service "grafana"',
    );
    expect(planBackup(file, development, { services: ['config'], type: undefined })).toEqual([
      { service: 'config', method: 'config', type: 'config', file: 'config.enc' },
    ]);
  });

  it("chooses --tier, else the policy's tier, else the default, and refuses an unknown one", () => {
    const backup = {
      ...file.backup!,
      tiers: { ...file.backup!.tiers, nas: { type: 'remote' as const, path: '/mnt/b' } },
    };
    expect(chooseTier(backup, 'development', undefined)).toBe('local');
    expect(chooseTier(backup, 'development', 'nas')).toBe('nas');
    expect(
      chooseTier(
        { ...backup, retention: { development: { days: 1, tier: 'nas' } } },
        'development',
        undefined,
      ),
    ).toBe('nas');
    expect(() => chooseTier(backup, 'development', 'tape')).toThrow('unknown backup tier "tape"');
  });

  it('makes ids that sort by time', () => {
    const a = backupId(new Date('2026-12-01T02:00:00.000Z'), 'ffffff');
    const b = backupId(new Date('2026-12-01T02:00:00.001Z'), '000000');
    expect(a).toBe('20261201T020000000Z-ffffff');
    expect([b, a].sort()).toEqual([a, b]);
  });
});

describe('a variable taken from the retention policy', () => {
  it("gives Prometheus the policy's metricsDays as its retention, and the default elsewhere", () => {
    expect(resolveEnvironment(file, 'production').values.get('PROMETHEUS_RETENTION_TIME')).toBe('30d');
    expect(resolveEnvironment(file, 'staging').values.get('PROMETHEUS_RETENTION_TIME')).toBe('15d');
  });
});

describe('evaluateRetention', () => {
  const policy = file.backup!.retention!['development']!;
  const day = (n: number): Date => new Date(Date.UTC(2026, 0, 1 + n));
  const set = (id: string, created: number, services: string[]): BackupSummary => ({
    id,
    environment: 'development',
    tier: 'local',
    created: day(created),
    services,
  });

  it('a damaged newest set does not let the last sound one go; only the newest are read', async () => {
    const backups = [set('a', 0, ['postgres']), set('b', 10, ['postgres']), set('c', 20, ['postgres'])];
    const asked: string[] = [];
    const damaged = await findDamaged(backups, (backup) => {
      asked.push(backup.id);
      return Promise.resolve(backup.id !== 'c');
    });
    expect(asked).toEqual(['c', 'b']);
    expect([...damaged]).toEqual([['local/c', ['postgres']]]);
    const decisions = evaluateRetention(
      backups.map((backup) => (backup.id === 'c' ? { ...backup, damaged: ['postgres'] } : backup)),
      policy,
      day(200),
    );
    expect(decisions.map((d) => [d.backup.id, d.expired, d.reason])).toEqual([
      ['a', true, '200 days old, past 30 days'],
      ['b', false, 'newest sound backup of postgres'],
      ['c', true, '180 days old, past 30 days (damaged: postgres)'],
    ]);
  });

  it("keeps each service's backups for its own days and never the newest backup of a service", () => {
    const backups = [
      set('a', 0, ['postgres', 'redis', 'config']),
      set('b', 10, ['redis']),
      set('c', 20, ['postgres', 'config']),
      set('d', 40, ['qdrant']),
    ];
    const decisions = evaluateRetention(backups, policy, day(45));
    expect(decisions.map((d) => [d.backup.id, d.expired, d.reason])).toEqual([
      ['a', true, '45 days old, past 30/1/7 days'],
      ['b', false, 'newest sound backup of redis'],
      ['c', false, 'newest sound backup of postgres, config'],
      ['d', false, 'newest sound backup of qdrant'],
    ]);
    // postgres is kept 30 days: a newer postgres backup, 25 days old, is kept; at 31 days it goes.
    const later = [...backups, set('e', 44, ['postgres', 'config'])];
    expect(evaluateRetention(later, policy, day(45)).find((d) => d.backup.id === 'c')).toMatchObject({
      expired: false,
      reason: 'postgres kept 30 days',
    });
    expect(evaluateRetention(later, policy, day(51)).find((d) => d.backup.id === 'c')?.expired).toBe(true);
  });

  it('expires nothing when every backup is young', () => {
    const decisions = evaluateRetention([set('a', 0, ['redis']), set('b', 0.5, ['redis'])], policy, day(0.9));
    expect(decisions.every((d) => !d.expired)).toBe(true);
  });
});

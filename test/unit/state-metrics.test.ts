import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertRules, metricNamesOf } from '../../src/generate/prometheus-rules.js';
import { resolveEnvironment } from '../../src/model/environment.js';
import {
  BACKUP_DUE,
  BACKUP_LAST,
  SECRET_DUE,
  lastBackupsOf,
  scheduleIntervalSeconds,
  stateMetricsText,
} from '../../src/plan/state-metrics.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { REPO_ROOT } from '../helpers/paths.js';

const store = {
  version: 1 as const,
  environment: 'production',
  secrets: {
    POSTGRES_PASSWORD: {
      value: 'not-printed',
      type: 'database_password',
      createdAt: '2026-09-01T00:00:00.000Z',
      rotationDueAt: '2026-11-30T00:00:00.000Z',
    },
  },
};

describe("stackctl's own metrics", () => {
  it('writes rotation dates, last backups and backup due dates, and never a value', () => {
    const text = stateMetricsText('production', store, new Map([['postgres', 1_800_000_000]]), 86_400);
    expect(text).toContain(`${SECRET_DUE}{environment="production",name="POSTGRES_PASSWORD"} 1795996800`);
    expect(text).toContain(`${BACKUP_LAST}{environment="production",service="postgres"} 1800000000`);
    expect(text).toContain(`${BACKUP_DUE}{environment="production",service="postgres"} 1800129600`);
    expect(text).not.toContain('not-printed');
    // Every sample line is `name{labels} number`, as the textfile collector reads it.
    for (const line of text.split('\n').filter((entry) => entry !== '' && !entry.startsWith('#')))
      expect(line).toMatch(/^[a-z_]+\{[^}]*\} \d+$/);
  });

  it('keeps the other services when one is backed up again (read back from the file it wrote)', () => {
    const first = stateMetricsText(
      'staging',
      undefined,
      new Map([
        ['postgres', 100],
        ['redis', 200],
      ]),
      undefined,
    );
    const last = lastBackupsOf(first, 'staging');
    expect([...last]).toEqual([
      ['postgres', 100],
      ['redis', 200],
    ]);
    expect(lastBackupsOf(first, 'production').size).toBe(0);
    // Without a schedule there is no due date to miss.
    expect(first).not.toContain(BACKUP_DUE);
  });

  it("reads a schedule's interval", () => {
    const from = new Date('2026-12-07T10:00:00Z');
    expect(scheduleIntervalSeconds('0 2 * * *', from)).toBe(86_400);
    expect(scheduleIntervalSeconds('0 1 * * 0', from)).toBe(7 * 86_400);
    expect(scheduleIntervalSeconds('not a schedule', from)).toBeUndefined();
  });

  it('adds the state alerts where a scraped node exporter reads textfiles, querying only what stackctl writes', async () => {
    const text = readFileSync(join(REPO_ROOT, 'schemas', 'compose-schema.yaml'), 'utf8');
    const file = (await validateStackText(text, { fileName: 'compose-schema.yaml' })).file as StackFile;
    const production = alertRules(resolveEnvironment(file, 'production'), '2m');
    const state = production.find((group) => group.name === 'stackctl-state');
    expect(state?.rules.map((rule) => rule.alert)).toEqual(['SecretRotationDue', 'BackupOverdue']);
    const written = new Set([SECRET_DUE, BACKUP_LAST, BACKUP_DUE]);
    for (const rule of state?.rules ?? [])
      for (const name of metricNamesOf(rule.expr)) expect(written).toContain(name);
    // staging runs no node exporter: no state alerts.
    expect(
      alertRules(resolveEnvironment(file, 'staging'), '2m').some((group) => group.name === 'stackctl-state'),
    ).toBe(false);
  });
});

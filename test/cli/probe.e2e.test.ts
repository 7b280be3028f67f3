// Without start_interval (or on engines older than API 1.44, where stackctl removes it) Docker first
// runs a healthcheck a whole interval after start. stackctl then runs each healthcheck itself while
// the service starts: tested here against the seeds' 30 s interval with no start_interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { removeByLabel, stackProject, type StackProject } from '../helpers/stack-project.js';

let project: StackProject;
beforeAll(async () => {
  project = await stackProject(246, (schema) => {
    const changed = schema.replace(', start_interval: 250ms }', ' }');
    if (changed === schema) throw new Error('test schema no longer has the start_interval this test removes');
    return changed;
  });
});
afterAll(() => project.remove());

describe('direct health probing', () => {
  it('sees services healthy seconds after they are ready, not after the 30 s interval', async () => {
    const result = await runCli(['start', 'ok', '--skip-preflight', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      seconds: number;
      services: { name: string; detail: string }[];
    };
    expect(report.seconds).toBeLessThan(15);
    const detail = Object.fromEntries(report.services.map((s) => [s.name, s.detail]));
    expect(detail['db']).toBe('healthy (checked directly)');
    expect(detail['web']).toBe('healthy (checked directly)');
  });

  it('STACKCTL_PROBE_HEALTH=0 leaves health to Docker alone', async () => {
    await removeByLabel(`io.stackctl.project=${project.name}`);
    const result = await runCli(['start', 'ok', '--skip-preflight', '--json', '--timeout', '8s'], {
      cwd: project.root,
      env: { STACKCTL_PROBE_HEALTH: '0' },
    });
    // Docker's first run comes 30 s after start, so db is not seen healthy within 8 s.
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as { failed: { service: string; reason: string } };
    expect(report.failed).toMatchObject({ service: 'db', reason: 'timeout' });
  });
});

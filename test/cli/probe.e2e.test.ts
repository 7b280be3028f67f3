// Engines without healthcheck start_interval (API < 1.44) first probe after a whole interval.
// stackctl then runs each healthcheck itself; STACKCTL_PROBE_HEALTH=1 turns that on for any engine,
// so it is tested here against healthchecks with the seeds' 30 s interval and no start_interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { stackProject, type StackProject } from '../helpers/stack-project.js';

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
    const result = await runCli(['start', 'ok', '--skip-preflight', '--json'], {
      cwd: project.root,
      env: { STACKCTL_PROBE_HEALTH: '1' },
    });
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
});

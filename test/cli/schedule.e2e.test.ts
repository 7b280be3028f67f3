// schedule install/remove against the real crontab of the user running the tests: only stackctl's
// own entries change; whatever else is there stays, and the crontab is put back as it was.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { shippedProject, type TempProject } from '../helpers/project.js';

let project: TempProject;
let original: string | undefined;
const FOREIGN = '17 3 * * * /usr/local/bin/someone-elses-job --flag';

const crontab = async (): Promise<string> => {
  const result = await execa('crontab', ['-l'], { reject: false });
  return result.exitCode === 0 ? result.stdout : '';
};

beforeAll(async () => {
  project = await shippedProject();
  const before = await execa('crontab', ['-l'], { reject: false });
  original = before.exitCode === 0 ? `${before.stdout}\n` : undefined;
  await execa('crontab', ['-'], { input: `${original ?? ''}${FOREIGN}\n` });
});
afterAll(async () => {
  if (original === undefined) await execa('crontab', ['-r'], { reject: false });
  else await execa('crontab', ['-'], { input: original });
  await project.remove();
});

describe('stackctl schedule with cron', () => {
  it('show prints what install writes; install adds one entry per scheduled environment; remove takes only those out', async () => {
    const shown = await runCli(['schedule', 'show', '--cron'], { cwd: project.root });
    expect(shown.exitCode, shown.stderr).toBe(0);
    // Before install, retention status says the schedule is not installed, not that it runs.
    const before = await runCli(['retention', 'status', 'production'], { cwd: project.root });
    expect(before.stdout).toContain(
      'schedule "0 1 * * 0" not installed on this host (stackctl schedule install)',
    );
    const installed = await runCli(['schedule', 'install', '--cron', '--json'], { cwd: project.root });
    expect(installed.exitCode, installed.stderr).toBe(0);
    expect((JSON.parse(installed.stdout) as { installed: string[] }).installed).toEqual([
      'development',
      'staging',
      'production',
    ]);
    const after = await crontab();
    expect(after.split('\n')).toContain(FOREIGN);
    expect(after).toContain(shown.stdout.trim());
    expect(
      after.match(/^0 1 \* \* 0 cd .* backup production .* retention cleanup production --yes/m),
    ).not.toBeNull();
    const status = await runCli(['retention', 'status', 'production', '--json'], { cwd: project.root });
    expect(
      (JSON.parse(status.stdout) as { environments: { installed: string | null }[] }).environments[0]
        ?.installed,
    ).toBe('cron');
    expect((await runCli(['retention', 'status', 'production'], { cwd: project.root })).stdout).toContain(
      'scheduled "0 1 * * 0" (crontab)',
    );
    // Twice is the same as once.
    expect((await runCli(['schedule', 'install', '--cron'], { cwd: project.root })).exitCode).toBe(0);
    expect(await crontab()).toBe(after);

    const removed = await runCli(['schedule', 'remove', 'production', '--cron'], { cwd: project.root });
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(await crontab()).not.toContain('backup production');
    expect(await crontab()).toContain('backup development');
    expect((await runCli(['schedule', 'remove', '--cron'], { cwd: project.root })).exitCode).toBe(0);
    expect((await crontab()).trim()).toBe(`${original ?? ''}${FOREIGN}`.trim());
  });
});

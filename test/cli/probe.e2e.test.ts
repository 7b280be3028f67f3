// Without start_interval (or on engines older than API 1.44, where stackctl removes it) Docker first
// runs a healthcheck a whole interval after start. stackctl then runs each healthcheck itself while
// the service starts: tested here against the seeds' 30 s interval with no start_interval.
import Docker from 'dockerode';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execProbeLoop } from '../../src/effects/exec-probe.js';
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

describe('the probe loop (one exec per window)', () => {
  const label = `io.stackctl.test-probe=${process.pid}`;
  const docker = new Docker();
  const container = async (script: string): Promise<string> => {
    const run = await execa('docker', [
      'run',
      '-d',
      '--init',
      '--label',
      label,
      'stackctl-test/busybox:1',
      'sh',
      '-c',
      script,
    ]);
    return run.stdout.trim();
  };
  const probeProcesses = async (id: string): Promise<number> =>
    (await execa('docker', ['top', id, '-o', 'pid,args'])).stdout
      .split('\n')
      .filter((line) => line.includes('stackctl-probe')).length;
  afterAll(() => removeByLabel(label));

  it('passes as soon as the check passes inside its window', async () => {
    const id = await container('sleep 1; touch /tmp/ready; exec sleep 60');
    const started = Date.now();
    expect(
      await execProbeLoop(docker, id, ['test', '-f', '/tmp/ready'], {
        everyMs: 100,
        forMs: 5000,
        timeoutMs: 5000,
      }),
    ).toBe(true);
    // It ran the check more than once: the file appears only after 1 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await probeProcesses(id)).toBe(0);
  });

  it('fails after its window when the check never passes, and leaves nothing running', async () => {
    const id = await container('exec sleep 60');
    expect(
      await execProbeLoop(docker, id, ['test', '-f', '/tmp/never'], {
        everyMs: 100,
        forMs: 500,
        timeoutMs: 5000,
      }),
    ).toBe(false);
    expect(
      await execProbeLoop(docker, id, ['no-such-check'], { everyMs: 100, forMs: 300, timeoutMs: 5000 }),
    ).toBe(false);
    expect(await probeProcesses(id)).toBe(0);
  });

  it('runs a shell-form healthcheck the same way', async () => {
    const id = await container('exec sleep 60');
    const shellForm = ['/bin/sh', '-c', 'test "$(echo ok)" = ok'];
    expect(await execProbeLoop(docker, id, shellForm, { everyMs: 100, forMs: 300, timeoutMs: 5000 })).toBe(
      true,
    );
  });
});

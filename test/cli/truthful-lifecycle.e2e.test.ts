// What start, restart and stop do and what they say must match (issue 26), on a real engine with a
// real recreate: a failed start names what it took down, restart checks before it stops, stop
// names the containers Docker had to kill.
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { inspect, stackProject, USER_OVERLAY, type StackProject } from '../helpers/stack-project.js';

let project: StackProject;
beforeAll(async () => {
  // worker mounts a cache folder (./models), as vLLM does in the shipped schema, and the folder
  // stackctl writes its metrics into, as the shipped node exporter does.
  project = await stackProject(232, (schema) =>
    schema.replace(
      '  worker:\n    stack: app\n    image: stackctl-test/busybox:1\n    init: true\n',
      "  worker:\n    stack: app\n    image: stackctl-test/busybox:1\n    init: true\n    volumes: ['./models:/models:ro', './.stackctl/metrics:/stackctl-metrics:ro']\n",
    ),
  );
});
afterAll(() => project.remove());

const overlay = (text: string): Promise<void> =>
  writeFile(join(project.root, 'compose', 'local.override.yml'), USER_OVERLAY + text);
const container = (env: string, service: string): string => `${project.name}-${env}-${service}-1`;

describe('cache folders', () => {
  it('preflight only says ./models and .stackctl/metrics are missing; start creates them, and says so', async () => {
    const models = join(project.root, 'models');
    const metrics = join(project.root, '.stackctl', 'metrics');
    const checked = await runCli(['preflight', 'ok', '--json'], { cwd: project.root });
    const report = JSON.parse(checked.stdout) as {
      checks: { id: string; status: string; message: string }[];
    };
    expect(report.checks.filter((c) => c.id === 'paths.worker')).toEqual([
      expect.objectContaining({
        status: 'pass',
        message: './models (a cache folder of worker) does not exist yet: start creates it',
      }),
      expect.objectContaining({
        status: 'pass',
        message:
          './.stackctl/metrics (where stackctl writes its metrics for worker) does not exist yet: start creates it',
      }),
    ]);
    await expect(stat(models)).rejects.toThrow();
    await expect(stat(metrics)).rejects.toThrow();
    // Not skipped: the start's own preflight passes these too.
    const started = await runCli(['start', 'ok'], { cwd: project.root });
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stderr).toContain('Created ./models (cache folder)');
    expect(started.stderr).toContain(
      "Created ./.stackctl/metrics (stackctl's metrics, for the node exporter)",
    );
    expect((await stat(models)).isDirectory()).toBe(true);
    expect((await stat(metrics)).isDirectory()).toBe(true);
  }, 60_000);
});

describe('a failed start', () => {
  it('names each service it recreated and did not start again, and why', async () => {
    const healthy = ['  bad:', '    healthcheck:', "      test: ['CMD', 'true']", ''].join('\n');
    // bad turns unhealthy and late is changed: compose recreates both.
    const failing = ['  late:', '    environment:', "      CHANGED: '1'", ''].join('\n');
    const cycle = async (json: boolean) => {
      await overlay(healthy);
      const first = await runCli(['start', 'blame', '--skip-preflight'], { cwd: project.root });
      expect(first.exitCode, first.stderr).toBe(0);
      expect((await inspect(container('blame', 'late'))).State.Status).toBe('running');
      await overlay(failing);
      const args = ['start', 'blame', '--skip-preflight', '--timeout', '30s', ...(json ? ['--json'] : [])];
      const failed = await runCli(args, { cwd: project.root });
      expect(failed.exitCode).toBe(1);
      return failed;
    };
    const report = JSON.parse((await cycle(true)).stdout) as {
      leftDown: unknown[];
      failed: { service: string };
    };
    expect(report.failed.service).toBe('bad');
    expect(report.leftDown).toEqual([
      {
        service: 'late',
        state: 'created',
        recreated: true,
        because: 'it waits for bad, and bad is unhealthy',
      },
    ]);
    const text = await cycle(false);
    expect(text.stderr).toContain('Running before this start, not running now:');
    expect(text.stderr).toContain('late: recreated, not started: it waits for bad, and bad is unhealthy');
    await overlay('');
    await runCli(['wipe', 'blame', '--yes'], { cwd: project.root });
  }, 180_000);
});

describe('restart', () => {
  it('checks first: a failing preflight stops nothing; then it says what it stops', async () => {
    await overlay('');
    const started = await runCli(['start', 'ok'], { cwd: project.root });
    expect(started.exitCode, started.stderr).toBe(0);
    const before = await inspect(container('ok', 'worker'));
    await overlay(
      ['  worker:', "    volumes: ['./not-here/worker.conf:/etc/worker.conf:ro']", ''].join('\n'),
    );
    const refused = await runCli(['restart', 'ok', '--service', 'worker'], { cwd: project.root });
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toContain('✖ ok: preflight failed; nothing was stopped');
    expect(refused.stdout).toContain(
      './not-here/worker.conf (mounted into worker at /etc/worker.conf) does not exist',
    );
    const still = await inspect(container('ok', 'worker'));
    expect(still.State.Status).toBe('running');
    expect(still.State.StartedAt).toBe(before.State.StartedAt);

    await overlay('');
    const restarted = await runCli(['restart', 'ok', '--service', 'worker'], { cwd: project.root });
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    expect(restarted.stderr).toMatch(
      new RegExp(`Stopping worker\\n  stopped ${container('ok', 'worker')} in [\\d.]+s \\(exit \\d+\\)`),
    );
    expect((await inspect(container('ok', 'worker'))).State.Status).toBe('running');
  }, 120_000);

  it('--dry-run stops nothing and says what it would stop', async () => {
    const before = await inspect(container('ok', 'worker'));
    const result = await runCli(['restart', 'ok', '--service', 'worker', '--dry-run'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain(`Would stop ${container('ok', 'worker')}, then start:`);
    expect((await inspect(container('ok', 'worker'))).State.StartedAt).toBe(before.State.StartedAt);
  });
});

describe('status and logs', () => {
  it('status has a stack column, a summary line and the URLs; --stack on status and logs', async () => {
    await overlay('');
    expect((await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root })).exitCode).toBe(0);
    const text = await runCli(['status', 'ok'], { cwd: project.root });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^ENVIRONMENT +STACK +SERVICE +STATE +HEALTH +PORTS +STATUS$/);
    expect(text.stdout).toMatch(/^ok +core +db +running +healthy /m);
    expect(text.stdout).toContain('ok: 3 running (2 healthy), 1 exited');
    expect(text.stdout).toContain(`open: web http://localhost:${project.webPort}`);
    const json = JSON.parse((await runCli(['status', 'ok', '--json'], { cwd: project.root })).stdout) as {
      containers: { service: string; stack: string; urls: string[] }[];
    };
    expect(json.containers.find((c) => c.service === 'web')).toMatchObject({
      stack: 'app',
      urls: [`http://localhost:${project.webPort}`],
    });
    const core = await runCli(['status', 'ok', '--stack', 'core', '--json'], { cwd: project.root });
    expect(
      (JSON.parse(core.stdout) as { containers: { service: string }[] }).containers.map((c) => c.service),
    ).toEqual(['db']);
    const logs = await runCli(['logs', 'ok', '--stack', 'core'], { cwd: project.root });
    expect(logs.stdout).toContain('db: ready');
    expect(logs.stdout).not.toContain('web: connecting');
    const wrong = await runCli(['logs', 'ok', '--stack', 'nope'], { cwd: project.root });
    expect(wrong.exitCode).toBe(2);
  }, 60_000);

  it('start without an environment names them', async () => {
    const result = await runCli(['start'], { cwd: project.root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('which environment? ok, stuck, crash, chain');
  });
});

describe('stop', () => {
  it('names each container killed after its grace period, and why; per-container times', async () => {
    // worker without Docker's init: PID 1 is `sh -c`, which ignores SIGTERM.
    await overlay(['  worker:', '    init: false', "    command: ['sh', '-c', 'sleep 3600']", ''].join('\n'));
    const started = await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    expect(started.exitCode, started.stderr).toBe(0);
    const result = await runCli(['stop', 'ok', '-t', '1', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      containers: { name: string; seconds: number; exitCode: number; killed?: string }[];
    };
    const worker = report.containers.find((c) => c.name === container('ok', 'worker'));
    expect(worker).toMatchObject({ exitCode: 137 });
    expect(worker?.killed).toBe(
      'PID 1 is `sh -c`, which neither exits on SIGTERM nor passes it on: exec the program in its command, or set init: true',
    );
    const db = report.containers.find((c) => c.name === container('ok', 'db'));
    expect(db?.killed).toBeUndefined();
    expect(db?.seconds).toBeLessThan(1);

    await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    const text = await runCli(['stop', 'ok', '-t', '1'], { cwd: project.root });
    expect(text.stderr).toContain(`killed ${container('ok', 'worker')} after its 1s grace period (`);
    expect(text.stdout).toMatch(
      /✔ stopped \d+ containers of ok \(1 killed after the grace period: see above\)/,
    );
    await overlay('');
  }, 120_000);

  it('stop --all stops every environment of the project', async () => {
    await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    const result = await runCli(['stop', '--all', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      environments: { environment: string; stopped: string[] }[];
    };
    expect(report.environments.find((e) => e.environment === 'ok')?.stopped.length).toBeGreaterThan(0);
    expect((await inspect(container('ok', 'db'))).State.Status).toBe('exited');
    const both = await runCli(['stop', 'ok', '--all'], { cwd: project.root });
    expect(both.exitCode).toBe(2);
  }, 60_000);
});

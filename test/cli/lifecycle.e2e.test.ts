// start, stop, restart, status and logs against a real Docker engine and docker compose v2, with
// the locally built stackctl-test/busybox:1 image (.ci/build-test-images.sh).
import { execa } from 'execa';
import { readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import {
  inspect,
  lockClaims,
  stackProject,
  type StackProject,
  storedDbPassword,
} from '../helpers/stack-project.js';

interface StartReport {
  ok: boolean;
  seconds: number;
  services: {
    name: string;
    state: string;
    health: string | null;
    phase: string;
    readyAfterSeconds: number | null;
    urls: string[];
  }[];
  failed?: { service: string; reason: string; detail: string };
  lastHealthcheck?: string | null;
  logs?: string[];
}

let project: StackProject;
beforeAll(async () => {
  project = await stackProject(250);
});
afterAll(() => project.remove());

const container = (env: string, service: string): string => `${project.name}-${env}-${service}-1`;
const secret = (env: string): Promise<string> => storedDbPassword(project.root, env);

describe('stackctl start', () => {
  it('--dry-run shows files, compose commands in stack order and wait budgets, and changes nothing', async () => {
    const result = await runCli(['start', 'ok', '--dry-run'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /docker compose -p \S+-ok .* up --no-start --no-deps db\n +docker compose .* up --no-start --no-deps migrate web worker +\(while the first ones start\)\n/,
    );
    expect(result.stdout).toMatch(
      /\[core\] db +at once\n +\[app\] migrate +after db healthy\n +\[app\] web +after db healthy\n/,
    );
    expect(result.stdout).toMatch(
      /web +up to 180s +\(start_period 60s \+ 3 × \(interval 30s \+ timeout 5s\) \+ 15s\)/,
    );
    expect(result.stdout).toMatch(/created +\.env\.ok/);
    expect((await readdir(project.root)).sort()).toEqual(['compose', 'schemas']);
    expect(await readdir(join(project.root, 'compose'))).toEqual(['local.override.yml']);
  });

  it('brings the environment up healthy, dependencies first, about as fast as the services allow', async () => {
    const result = await runCli(['start', 'ok', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as StartReport;
    expect(report.ok).toBe(true);
    const byName = Object.fromEntries(report.services.map((s) => [s.name, s]));
    expect(byName['db']).toMatchObject({ state: 'running', health: 'healthy', phase: 'ready' });
    expect(byName['migrate']).toMatchObject({ state: 'exited', phase: 'ready' });
    expect(byName['web']).toMatchObject({ health: 'healthy', urls: [`http://localhost:${project.webPort}`] });
    expect(byName['worker']).toMatchObject({ state: 'running', health: null });
    // db is ready after ~1 s, web ~2 s after db: health is seen at once, not after the 30 s interval.
    expect(report.seconds).toBeLessThan(15);
    const db = await inspect(container('ok', 'db'));
    const web = await inspect(container('ok', 'web'));
    // The user overlay the test project carries was read last.
    expect((db as unknown as { Config: { Labels: Record<string, string> } }).Config.Labels).toMatchObject({
      'io.stackctl.test-overlay': 'present',
    });
    expect(Date.parse(web.State.StartedAt)).toBeGreaterThan(Date.parse(db.State.StartedAt) + 900);
    const page = await fetch(`http://127.0.0.1:${project.webPort}/`);
    expect(await page.text()).toBe('ok\n');
  });

  it('is a fast no-op on a healthy environment: nothing is recreated', async () => {
    const before = await inspect(container('ok', 'web'));
    const migrate = await inspect(container('ok', 'migrate'));
    const result = await runCli(['start', 'ok', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    // The completed job is not run again: same container, same start.
    expect((await inspect(container('ok', 'migrate'))).State.StartedAt).toBe(migrate.State.StartedAt);
    const report = JSON.parse(result.stdout) as StartReport;
    expect(report.services.find((s) => s.name === 'migrate')).toMatchObject({ phase: 'ready' });
    expect((await inspect(container('ok', 'web'))).Id).toBe(before.Id);
    expect((await inspect(container('ok', 'web'))).State.StartedAt).toBe(before.State.StartedAt);
  });

  it('refuses while another run holds the lock, and takes over a stale lock', async () => {
    const lock = join(project.root, '.stackctl', 'locks', 'ok.lock');
    await mkdir(join(project.root, '.stackctl', 'locks'), { recursive: true });
    await writeFile(
      lock,
      JSON.stringify({ pid: process.pid, command: 'start ok', startedAt: new Date().toISOString() }),
    );
    const locked = await runCli(['start', 'ok'], { cwd: project.root });
    expect(locked.exitCode).toBe(4);
    expect(locked.stderr).toContain(`pid ${process.pid}`);
    await writeFile(
      lock,
      JSON.stringify({ pid: 2 ** 22 + 7, command: 'start ok', startedAt: '2026-01-01T00:00:00Z' }),
    );
    const taken = await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    expect(taken.exitCode).toBe(0);
    expect(taken.stderr).toContain('preflight skipped');
    await expect(readFile(lock)).rejects.toThrow();
    expect(await lockClaims(project.root, 'ok')).toEqual([]);
  });

  it('fails fast when a container exits, with its exit code and redacted last logs, leaving the stack up', async () => {
    const started = Date.now();
    const result = await runCli(['start', 'crash'], { cwd: project.root });
    expect(result.exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.stderr).toContain('✖ crasher: exited with code 3');
    expect(result.stderr).toContain('crasher: giving up');
    expect(result.stderr).toContain('crasher: using ***');
    expect(result.stderr).not.toContain(await secret('crash'));
    expect(result.stderr).toContain('or stop it: stackctl stop crash');
    expect((await inspect(container('crash', 'db'))).State.Status).toBe('running');
  });

  it('diagnoses a service that never turns healthy: timeout, last healthcheck output', async () => {
    const result = await runCli(['start', 'stuck', '--timeout', '8s', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as StartReport;
    expect(report.failed).toMatchObject({ service: 'stuck', reason: 'timeout' });
    expect(report.lastHealthcheck).toBe('exit 1: still not ready: /tmp/never is missing');
  });

  it('cancels cleanly on Ctrl-C: exit 130, lock released, no half-written file', async () => {
    await runCli(['stop', 'stuck'], { cwd: project.root });
    const child = execa(stackctlCommand(), ['start', 'stuck', '--skip-preflight'], {
      cwd: project.root,
      env: { NO_COLOR: '1' },
      reject: false,
    });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(await lockClaims(project.root, 'stuck')).toEqual([]);
    const leftovers = [...(await readdir(project.root)), ...(await readdir(join(project.root, 'compose')))];
    expect(leftovers.filter((name) => /tmp$/.test(name))).toEqual([]);
  });
});

describe('stackctl status, logs, stop, restart', () => {
  it('status reads containers by label, even when the generated files are gone', async () => {
    // Every generated compose file (the user's overlay is theirs, not generated).
    for (const name of await readdir(join(project.root, 'compose')))
      if (name !== 'local.override.yml') await rm(join(project.root, 'compose', name));
    const result = await runCli(['status', 'ok', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    const { containers } = JSON.parse(result.stdout) as {
      containers: { service: string; state: string; health: string | null; ports: string[] }[];
    };
    const web = containers.find((c) => c.service === 'web');
    expect(web).toMatchObject({
      state: 'running',
      health: 'healthy',
      ports: [`127.0.0.1:${project.webPort}->8080`],
    });
    expect(containers.map((c) => c.service).sort()).toEqual(['db', 'migrate', 'web', 'worker']);
    expect((await runCli(['generate', 'ok'], { cwd: project.root })).exitCode).toBe(0);
  });

  it('status reads the names of an unchanged schema from what generate recorded, and loads a changed one', async () => {
    const names = JSON.parse(
      await readFile(join(project.root, '.stackctl', 'last-valid-schema.names.json'), 'utf8'),
    ) as { project: string; environments: string[] };
    expect(names.project).toBe(project.name);
    expect(names.environments).toContain('ok');
    const path = join(project.root, 'schemas', 'compose-schema.yaml');
    const original = await readFile(path, 'utf8');
    // A comment changes the digest: the schema is loaded (and validated) again, with the same answer.
    await writeFile(path, `${original}\n# edited\n`);
    try {
      const result = await runCli(['status', 'ok', '--json'], { cwd: project.root });
      expect(result.exitCode, result.stderr).toBe(0);
      const { containers } = JSON.parse(result.stdout) as {
        containers: { service: string; status: string }[];
      };
      expect(containers.map((c) => c.service).sort()).toEqual(['db', 'migrate', 'web', 'worker']);
      expect(containers.find((c) => c.service === 'db')?.status).toMatch(/^Up /);
      // A name the changed schema does not have is refused, with the environments it has.
      const unknown = await runCli(['status', 'nosuch'], { cwd: project.root });
      expect(unknown.exitCode).toBe(2);
    } finally {
      await writeFile(path, original);
    }
  });

  it("logs shows a service's lines with secret values redacted", async () => {
    const result = await runCli(['logs', 'ok', 'web', '--tail', '5'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('web: connecting with password ***');
    expect(result.stdout).not.toContain(await secret('ok'));
    expect((await runCli(['logs', 'ok', 'nope'], { cwd: project.root })).exitCode).toBe(2);
  });

  it('restart --service web replaces nothing else and comes back healthy', async () => {
    const db = await inspect(container('ok', 'db'));
    const result = await runCli(['restart', 'ok', '--service', 'web', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { services: { name: string; health: string }[] };
    expect(report.services.find((service) => service.name === 'web')?.health).toBe('healthy');
    // stackctl may see the healthcheck pass before Docker's next run of it records healthy.
    await expect
      .poll(async () => (await inspect(container('ok', 'web'))).State.Health?.Status)
      .toBe('healthy');
    expect((await inspect(container('ok', 'db'))).State.StartedAt).toBe(db.State.StartedAt);
  });

  it('stop stops in reverse dependency order and removes nothing', async () => {
    const result = await runCli(['stop', 'ok', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    const db = await inspect(container('ok', 'db'));
    const web = await inspect(container('ok', 'web'));
    // The user overlay the test project carries was read last.
    expect((db as unknown as { Config: { Labels: Record<string, string> } }).Config.Labels).toMatchObject({
      'io.stackctl.test-overlay': 'present',
    });
    expect(db.State.Status).toBe('exited');
    expect(web.State.Status).toBe('exited');
    expect(Date.parse(db.State.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(web.State.FinishedAt));
    const again = await runCli(['stop', 'ok'], { cwd: project.root });
    expect(again.stdout).toContain('ok: nothing running');
  });
});

describe('the start graph', () => {
  const startedAt = async (service: string): Promise<number> =>
    Date.parse((await inspect(container('fork', service))).State.StartedAt);
  const finishedAt = async (service: string): Promise<number> =>
    Date.parse((await inspect(container('fork', service))).State.FinishedAt);

  it('starts stacks that depend on core only side by side, each once core is ready', async () => {
    // app (web) and side (sidecar) both depend on core; the schema lists app first. Stack after
    // stack, sidecar would start only once web is healthy (2 s after it starts).
    const result = await runCli(['start', 'fork', '--skip-preflight'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const [db, web, sidecar] = await Promise.all(['db', 'web', 'sidecar'].map(startedAt));
    // db becomes ready 1 s after it starts; nothing of app or side starts before.
    expect(web! - db!).toBeGreaterThanOrEqual(1000);
    expect(sidecar! - db!).toBeGreaterThanOrEqual(1000);
    expect(Math.abs(sidecar! - web!)).toBeLessThan(1500);
    expect(result.stderr).toMatch(
      /✔ core ready in .*\n(.*\n)*✔ (app|side) ready in .*\n(.*\n)*✔ (side|app) ready in/,
    );
  });

  it('stop runs the graph backwards: core stops only after both stacks that depend on it', async () => {
    const result = await runCli(['stop', 'fork'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const [db, web, sidecar] = await Promise.all(['db', 'web', 'sidecar'].map(finishedAt));
    expect(db!).toBeGreaterThanOrEqual(web!);
    expect(db!).toBeGreaterThanOrEqual(sidecar!);
    expect(result.stderr.indexOf('Stopping db')).toBeGreaterThan(result.stderr.indexOf('Stopping web'));
    expect(result.stderr.indexOf('Stopping db')).toBeGreaterThan(result.stderr.indexOf('Stopping sidecar'));
  });
});

describe('stackctl start: services of one stack that wait for each other', () => {
  it('starts each as soon as what it depends on is met: completed jobs, healthy services', async () => {
    const result = await runCli(['start', 'chain', '--skip-preflight', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const seed = await inspect(container('chain', 'seed'));
    const web = await inspect(container('chain', 'web'));
    const api = await inspect(container('chain', 'api'));
    expect(seed.State.Status).toBe('exited');
    // api waits for seed to complete and for web, which serves only 2 s after it starts, to be healthy.
    const apiStarted = Date.parse(api.State.StartedAt);
    expect(apiStarted).toBeGreaterThanOrEqual(Date.parse(seed.State.FinishedAt));
    expect(apiStarted - Date.parse(web.State.StartedAt)).toBeGreaterThanOrEqual(2000);
    const report = JSON.parse(result.stdout) as StartReport;
    expect(report.services.map((s) => [s.name, s.phase])).toEqual([
      ['db', 'ready'],
      ['web', 'ready'],
      ['seed', 'ready'],
      ['api', 'ready'],
    ]);
  });

  it('names the service and Docker’s reason when a container cannot start (its port is taken)', async () => {
    await runCli(['stop', 'chain'], { cwd: project.root });
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(project.webPort, '127.0.0.1', resolve));
    try {
      const result = await runCli(['start', 'chain', '--skip-preflight'], { cwd: project.root });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(
        /error: web could not be started: .*(address already in use|port is already allocated)/,
      );
      expect(result.stderr).toContain(`stackctl stop chain`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
      await runCli(['stop', 'chain'], { cwd: project.root });
    }
  });
});

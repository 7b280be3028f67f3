// `start --swarm` on the engine's own single-node swarm (the test setup runs `docker swarm init`):
// deploy in dependency order and wait on the tasks, secrets as files, scale through the user's
// overlay, status and logs, stop, a failure named, and wipe, every resource found by its labels.
import { execa } from 'execa';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { stackProject, storedDbPassword, USER_OVERLAY, type StackProject } from '../helpers/stack-project.js';

let project: StackProject;
beforeAll(async () => {
  // db reads its password from a file on a cluster (as PostgreSQL's image does with *_FILE).
  project = await stackProject(238, (schema) =>
    schema.replace(
      "      DB_PASSWORD: ${DB_PASSWORD}\n    command: ['sh', '-c', 'echo \"db: starting\"",
      "      DB_PASSWORD: ${DB_PASSWORD}\n    secretFiles: { DB_PASSWORD: DB_PASSWORD_FILE }\n    command: ['sh', '-c', 'echo \"db: starting\"",
    ),
  );
});
afterAll(async () => {
  await runCli(['wipe', 'ok', '--yes'], { cwd: project.root });
  await runCli(['wipe', 'stuck', '--yes'], { cwd: project.root });
  await runCli(['wipe', 'crash', '--yes'], { cwd: project.root });
  await project.remove();
});

interface SwarmStart {
  ok: boolean;
  failed?: { service: string; reason: string; detail: string };
  logs?: string[];
  services: { name: string; phase: string; readyAfterSeconds: number | null }[];
}

const start = async (env: string, extra: string[] = []) => {
  const result = await runCli(['start', env, '--swarm', '--json', ...extra], { cwd: project.root });
  return { ...result, report: JSON.parse(result.stdout || '{}') as SwarmStart };
};
const services = async () =>
  (
    await execa('docker', [
      'service',
      'ls',
      '--filter',
      `label=io.stackctl.project=${project.name}`,
      '--format',
      '{{.Name}} {{.Replicas}}',
    ])
  ).stdout
    .split('\n')
    .filter(Boolean);
const taskContainer = async (service: string): Promise<string> => {
  const result = await execa('docker', [
    'ps',
    '-q',
    '--filter',
    `label=com.docker.swarm.service.name=${project.name}-ok_${service}`,
  ]);
  return result.stdout.split('\n')[0] ?? '';
};

describe('start --swarm', () => {
  it('shows the plan with --dry-run and deploys nothing', async () => {
    const result = await runCli(['start', 'ok', '--swarm', '--dry-run', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      stack: string;
      secrets: string[];
      graph: { service: string; waitsFor: { service: string }[] }[];
    };
    expect(plan.stack).toBe(`${project.name}-ok`);
    expect(plan.secrets).toEqual([
      expect.stringMatching(new RegExp(`^${project.name}-ok_db_password_[0-9a-f]{12}$`)),
    ]);
    const web = plan.graph.find((node) => node.service === 'web');
    expect(web?.waitsFor.map((dep) => dep.service)).toContain('db');
    expect(await services()).toEqual([]);
    // Nothing written either: compose read the planned files from a private copy.
    await expect(stat(join(project.root, '.env.ok'))).rejects.toThrow();
    await expect(stat(join(project.root, 'secrets'))).rejects.toThrow();
  });

  it('deploys each service once what it waits for is ready, and waits until every task runs', async () => {
    const { exitCode, stderr, report } = await start('ok', ['--timeout', '90s']);
    expect(exitCode, stderr).toBe(0);
    expect(report.ok).toBe(true);
    const ready = Object.fromEntries(report.services.map((s) => [s.name, s]));
    for (const name of ['db', 'migrate', 'web', 'worker']) expect(ready[name]?.phase, name).toBe('ready');
    // db is ready about 1 s after it starts; web and the migration job wait for it.
    expect(ready['web']?.readyAfterSeconds ?? 0).toBeGreaterThan(ready['db']?.readyAfterSeconds ?? Infinity);
    expect(ready['migrate']?.readyAfterSeconds ?? 0).toBeGreaterThan(
      ready['db']?.readyAfterSeconds ?? Infinity,
    );
    expect(await services()).toEqual(
      expect.arrayContaining([
        `${project.name}-ok_db 1/1`,
        `${project.name}-ok_web 1/1`,
        `${project.name}-ok_worker 1/1`,
      ]),
    );
  });

  it('mounts secrets the image reads from files, and keeps every value out of the stack file', async () => {
    const password = await storedDbPassword(project.root, 'ok');
    const db = await taskContainer('db');
    const inside = await execa('docker', ['exec', db, 'sh', '-c', 'cat "$DB_PASSWORD_FILE"; echo; env']);
    expect(inside.stdout.split('\n')[0]).toBe(password);
    expect(inside.stdout).not.toMatch(/^DB_PASSWORD=/m);
    // web reads it from its environment: set at deploy time, never written in the file.
    const web = await execa('docker', [
      'exec',
      await taskContainer('web'),
      'sh',
      '-c',
      'echo "$DB_PASSWORD"',
    ]);
    expect(web.stdout).toBe(password);
    const stackFile = await readFile(join(project.root, '.stackctl', 'swarm', 'ok.yml'), 'utf8');
    expect(stackFile).not.toContain(password);
    const stack = parse(stackFile) as { services: Record<string, { environment: Record<string, string> }> };
    expect(stack.services['web']?.environment['DB_PASSWORD']).toBe('${DB_PASSWORD}');
  });

  it('shows the swarm services in status, and their tasks output in logs (secrets redacted)', async () => {
    const status = await runCli(['status', 'ok', '--json'], { cwd: project.root });
    expect(status.exitCode, status.stderr).toBe(0);
    const { containers: rows } = JSON.parse(status.stdout) as {
      containers: { service: string; state: string; swarm: boolean }[];
    };
    expect(
      rows
        .filter((row) => row.swarm)
        .map((row) => row.service)
        .sort(),
    ).toEqual(['db', 'migrate', 'web', 'worker']);
    const logs = await runCli(['logs', 'ok', 'web'], { cwd: project.root });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('web: connecting with password');
    expect(logs.stdout).not.toContain(await storedDbPassword(project.root, 'ok'));
  });

  it('scales through the user overlay: a redeploy waits for every replica', async () => {
    await writeFile(
      join(project.root, 'compose', 'local.override.yml'),
      `${USER_OVERLAY}  worker:\n    deploy:\n      replicas: 3\n`,
    );
    try {
      const { exitCode, stderr } = await start('ok');
      expect(exitCode, stderr).toBe(0);
      expect(await services()).toContain(`${project.name}-ok_worker 3/3`);
    } finally {
      await writeFile(join(project.root, 'compose', 'local.override.yml'), USER_OVERLAY);
    }
  });

  it('stops dependents first and keeps everything for the next start', async () => {
    const stop = await runCli(['stop', 'ok', '--json'], { cwd: project.root });
    expect(stop.exitCode, stop.stderr).toBe(0);
    const { swarmServices: stopped } = JSON.parse(stop.stdout) as { swarmServices: string[] };
    expect(stopped.indexOf('db')).toBeGreaterThan(stopped.indexOf('web'));
    expect(await services()).toEqual(
      expect.arrayContaining([`${project.name}-ok_db 0/0`, `${project.name}-ok_web 0/0`]),
    );
    const again = await start('ok');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await services()).toContain(`${project.name}-ok_db 1/1`);
  });

  it('restarts on the swarm: new tasks, ready again', async () => {
    const before = await taskContainer('web');
    const result = await runCli(['restart', 'ok', '--swarm', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as SwarmStart).ok).toBe(true);
    const after = await taskContainer('web');
    expect(after).not.toBe('');
    expect(after).not.toBe(before);
  });

  it('refuses to export a GPU profile the schema does not have', async () => {
    const result = await runCli(['export', 'swarm', 'ok', '--gpu', 'single', '--out', 'x.yml'], {
      cwd: project.root,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('the schema has no GPU profile "single"');
    await expect(stat(join(project.root, 'x.yml'))).rejects.toThrow();
  });

  it('refuses to run the same environment under compose while it is on the swarm', async () => {
    const result = await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('ok is deployed on the swarm');
  });

  it('names the service that never turns healthy, with its output, and exits 1', async () => {
    const { exitCode, report } = await start('stuck', ['--timeout', '6s']);
    expect(exitCode).toBe(1);
    expect(report.failed?.service).toBe('stuck');
    expect(report.failed?.reason).toBe('timeout');
  });

  it('names a task that exits when swarm will not restart it', async () => {
    const { exitCode, report } = await start('crash', ['--timeout', '60s']);
    expect(exitCode).toBe(1);
    expect(report.failed).toMatchObject({ service: 'crasher', reason: 'exited' });
    expect(report.logs?.join('\n')).toContain('crasher: giving up');
    expect(report.logs?.join('\n')).not.toContain(await storedDbPassword(project.root, 'crash'));
  });

  it('wipes services, secrets, configs, networks and volumes of the environment, and nothing else', async () => {
    const preview = await runCli(['wipe', 'ok', '--dry-run', '--json'], { cwd: project.root });
    const planned = JSON.parse(preview.stdout) as {
      swarm: { kind: string; name: string }[];
      networks: string[];
      volumes: { name: string }[];
    };
    expect(planned.swarm.filter((item) => item.kind === 'service').length).toBe(4);
    expect(planned.swarm.some((item) => item.kind === 'secret')).toBe(true);
    const wipe = await runCli(['wipe', 'ok', '--yes'], { cwd: project.root });
    expect(wipe.exitCode, wipe.stderr).toBe(0);
    const left = async (kind: string[]) =>
      (
        await execa('docker', [
          ...kind,
          '--filter',
          `label=com.docker.stack.namespace=${project.name}-ok`,
          '-q',
        ])
      ).stdout.trim();
    expect(await left(['service', 'ls'])).toBe('');
    expect(await left(['secret', 'ls'])).toBe('');
    expect(await left(['network', 'ls'])).toBe('');
    expect(await left(['volume', 'ls'])).toBe('');
    // Its stack file goes with it: status no longer asks the swarm about ok.
    await expect(stat(join(project.root, '.stackctl', 'swarm', 'ok.yml'))).rejects.toThrow();
    // The stuck environment's stack is another environment's: untouched.
    expect((await services()).some((line) => line.startsWith(`${project.name}-stuck_`))).toBe(true);
  });
});

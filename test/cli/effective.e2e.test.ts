// Start expects what compose will really run: the configuration compose resolves from every file,
// the user's compose/local.override.yml included (issue 13), not the schema alone.
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { inspect, stackProject, type StackProject } from '../helpers/stack-project.js';

interface DryRun {
  expectationsFrom: string;
  waits: { service: string; replicas: number; healthcheck: boolean; budgetSeconds: number }[];
}

let project: StackProject;
beforeAll(async () => {
  project = await stackProject(243);
});
afterAll(() => project.remove());

const overlay = (lines: string[]) =>
  writeFile(join(project.root, 'compose', 'local.override.yml'), `${lines.join('\n')}\n`);
const dryRun = async (): Promise<DryRun> => {
  const result = await runCli(['start', 'ok', '--dry-run', '--json'], { cwd: project.root });
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as DryRun;
};
const wait = (plan: DryRun, service: string) => plan.waits.find((w) => w.service === service);
const running = async (service: string): Promise<string[]> =>
  (
    await execa('docker', [
      'ps',
      '--filter',
      `label=com.docker.compose.project=${project.name}-ok`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
      '--format',
      '{{.Names}}',
    ])
  ).stdout
    .split('\n')
    .filter(Boolean);

describe('start plans from what compose resolves', () => {
  it('says where its expectations come from', async () => {
    expect((await dryRun()).expectationsFrom).toBe('schema'); // no files on disk yet
    expect((await runCli(['generate', 'ok'], { cwd: project.root })).exitCode).toBe(0);
    expect((await dryRun()).expectationsFrom).toBe('compose');
  });

  it('follows an overlay that adds replicas, changes healthcheck timings and removes a healthcheck', async () => {
    await overlay([
      'services:',
      '  worker:',
      '    deploy: { replicas: 2 }',
      '  web:',
      '    healthcheck: { interval: 2s, timeout: 1s, retries: 2, start_period: 0s, start_interval: 250ms }',
      '  db:',
      '    healthcheck: { disable: true }',
    ]);
    const plan = await dryRun();
    expect(wait(plan, 'worker')?.replicas).toBe(2);
    expect(wait(plan, 'web')?.budgetSeconds).toBe(0 + 2 * (2 + 1) + 15);
    expect(wait(plan, 'db')?.healthcheck).toBe(false);

    const result = await runCli(['start', 'ok', '--skip-preflight', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      services: { name: string; containers: number; health: string | null }[];
    };
    expect(report.services.find((s) => s.name === 'worker')?.containers).toBe(2);
    expect(await running('worker')).toHaveLength(2);
    expect((await inspect(`${project.name}-ok-db-1`)).State.Health).toBeUndefined();
  });

  it('runs the healthcheck of every replica itself, as it does for a single container', async () => {
    // Docker's first check would come 30 s after each container starts: a start that ends before
    // then saw both replicas ready through its own runs of their healthcheck.
    await overlay([
      'services:',
      '  worker:',
      '    deploy: { replicas: 2 }',
      "    command: ['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 3600']",
      '    healthcheck:',
      "      test: ['CMD', 'test', '-f', '/tmp/ready']",
      '      interval: 60s',
      '      timeout: 5s',
      '      retries: 3',
      '      start_period: 60s',
      '      start_interval: 30s',
    ]);
    const result = await runCli(['start', 'ok', '--skip-preflight', '--settle', '0', '--json'], {
      cwd: project.root,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      services: { name: string; containers: number; detail: string }[];
    };
    const worker = report.services.find((s) => s.name === 'worker');
    expect(worker?.containers).toBe(2);
    expect(worker?.detail).toBe('healthy (checked directly)');
    for (const name of await running('worker'))
      expect((await inspect(name)).State.Health?.Status, name).toBe('starting');
  });

  it('follows an overlay that scales a service down to none, instead of waiting for it', async () => {
    await overlay(['services:', '  worker:', '    deploy: { replicas: 0 }']);
    expect(wait(await dryRun(), 'worker')?.replicas).toBe(0);
    const started = Date.now();
    const result = await runCli(['start', 'ok', '--skip-preflight', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await running('worker')).toEqual([]);
    await rm(join(project.root, 'compose', 'local.override.yml'));
  });

  it("refuses an overlay compose itself rejects, with compose's words", async () => {
    await overlay(['services:', '  worker:', '    deploy: { replicas: many }']);
    const result = await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    await rm(join(project.root, 'compose', 'local.override.yml'));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('docker compose config rejects the files');
  });
});

describe('one daemon for stackctl and compose, found as the docker CLI finds it', () => {
  let config: string;
  beforeAll(async () => {
    config = await mkdtemp(join(tmpdir(), 'stackctl-docker-config-'));
    const env = { DOCKER_CONFIG: config };
    // A context on a socket of its own (the engine's socket, bind-mounted there in the test below).
    await writeFile(join(config, 'docker.sock'), '');
    await execa('docker', ['context', 'create', 'own', '--docker', `host=unix://${config}/docker.sock`], {
      env,
    });
    await execa(
      'docker',
      ['context', 'create', 'nowhere', '--docker', `host=unix://${config}/missing.sock`],
      { env },
    );
    await execa('docker', ['context', 'use', 'own'], { env });
  });
  afterAll(() => rm(config, { recursive: true, force: true }));

  /** stackctl in a mount namespace of its own where the default socket is hidden. */
  const hidden = (args: string[], env: Record<string, string> = {}) =>
    execa(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        `mount --bind /var/run/docker.sock "$DOCKER_CONFIG/docker.sock" && mount -t tmpfs tmpfs /var/run && exec "$@"`,
        'sh',
        stackctlCommand(),
        ...args,
      ],
      {
        cwd: project.root,
        env: { NO_COLOR: '1', DOCKER_CONFIG: config, ...env },
        reject: false,
        timeout: 90_000,
      },
    );

  it('uses the current context of the docker config, for the API and for compose alike', async () => {
    const status = await hidden(['status', 'ok', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const start = await hidden(['start', 'ok', '--skip-preflight']);
    expect(start.exitCode, start.stderr).toBe(0);
    expect(start.stdout).toContain('is up and healthy');
  });

  it('uses DOCKER_CONTEXT over the current context, and DOCKER_HOST over both', async () => {
    const elsewhere = await hidden(['status', 'ok'], { DOCKER_CONTEXT: 'nowhere' });
    expect(elsewhere.exitCode).toBe(1);
    expect(elsewhere.stderr).toContain(`cannot reach the Docker daemon at ${config}/missing.sock`);
    const unknown = await hidden(['status', 'ok'], { DOCKER_CONTEXT: 'nosuch' });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('docker context "nosuch" does not exist');
    const host = await hidden(['status', 'ok'], {
      DOCKER_CONTEXT: 'nowhere',
      DOCKER_HOST: `unix://${config}/docker.sock`,
    });
    expect(host.exitCode, host.stderr).toBe(0);
  });
});

describe('commands that act on what runs, while the schema is mid-edit', () => {
  it('status, logs, stop, a wipe preview and secrets status work; start and wipe refuse', async () => {
    expect((await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root })).exitCode).toBe(0);
    const path = join(project.root, 'schemas', 'compose-schema.yaml');
    const good = await readFile(path, 'utf8');
    // Half-edited: an unclosed flow sequence and an unknown key.
    await writeFile(path, `${good}\nextra: [1, 2\n`);
    try {
      for (const args of [
        ['status', 'ok', '--json'],
        ['logs', 'ok', 'db', '--tail', '5'],
        ['wipe', 'ok', '--dry-run'],
        ['secrets', 'status', 'ok'],
        ['stop', 'ok'],
      ]) {
        const result = await runCli(args, { cwd: project.root });
        expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
        expect(result.stderr).toMatch(
          /compose-schema\.yaml has \d+ errors? \(stackctl validate\); using the schema as it was/,
        );
      }
      expect((await inspect(`${project.name}-ok-db-1`)).State.Status).toBe('exited');
      expect((await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root })).exitCode).toBe(2);
      expect((await runCli(['wipe', 'ok', '--yes'], { cwd: project.root })).exitCode).toBe(2);
      expect((await inspect(`${project.name}-ok-db-1`)).Id).toBeTruthy();
    } finally {
      await writeFile(path, good);
    }
  });
});

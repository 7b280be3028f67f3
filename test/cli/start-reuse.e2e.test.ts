// A start after a stop does not run compose to create what already exists (issue 16): compose is
// asked once, for its configuration, and that run starts while stackctl itself loads. Whatever
// changed while the environment was stopped (the overlay, an image, a removed container) still
// reaches compose, which recreates it. Compose runs here through a logging wrapper put where the
// docker CLI looks for plugins, so the tests see each compose run stackctl makes.
import { execa } from 'execa';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import {
  inspect,
  stackProject,
  storedDbPassword,
  USER_OVERLAY,
  type StackProject,
} from '../helpers/stack-project.js';

let project: StackProject;
let config: string;
let log: string;
const image = `stk236reuse${process.pid}:1`;

async function realCompose(): Promise<string> {
  for (const folder of [
    '/usr/local/lib/docker/cli-plugins',
    '/usr/local/libexec/docker/cli-plugins',
    '/usr/lib/docker/cli-plugins',
    '/usr/libexec/docker/cli-plugins',
  ]) {
    const path = join(folder, 'docker-compose');
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  throw new Error('no docker compose plugin on this machine');
}

beforeAll(async () => {
  project = await stackProject(236);
  config = await mkdtemp(join(tmpdir(), 'stackctl-compose-log-'));
  log = join(config, 'compose.log');
  await mkdir(join(config, 'cli-plugins'));
  const wrapper = join(config, 'cli-plugins', 'docker-compose');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      `case "$1" in version|docker-cli-plugin-metadata) ;; *) printf '%s\\n' "$*" >> '${log}' ;; esac`,
      `exec '${await realCompose()}' "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(wrapper, 0o755);
  await execa('docker', ['tag', 'stackctl-test/busybox:1', image]);
});
afterAll(async () => {
  await project.remove();
  await rm(config, { recursive: true, force: true });
  await execa('docker', ['rmi', image], { reject: false });
});

const cli = (args: string[]) => runCli(args, { cwd: project.root, env: { DOCKER_CONFIG: config } });
const overlay = (lines: string[]) =>
  writeFile(join(project.root, 'compose', 'local.override.yml'), `${USER_OVERLAY}${lines.join('\n')}\n`);
/** The compose runs since the last call: `config ...` and `up ...` lines. */
async function composeRuns(): Promise<{ all: string[]; configs: string[]; ups: string[] }> {
  const lines = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  await writeFile(log, '');
  return {
    all: lines,
    configs: lines.filter((line) => / config --format json$/.test(line)),
    ups: lines.filter((line) => / up /.test(line)),
  };
}
async function containerIds(): Promise<Map<string, string>> {
  const listed = await execa('docker', [
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${project.name}-ok`,
    '--format',
    '{{.Label "com.docker.compose.service"}} {{.ID}}',
  ]);
  return new Map(
    listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
}
async function startOk(): Promise<{ services: { name: string; state: string; detail: string }[] }> {
  const result = await cli(['start', 'ok', '--skip-preflight', '--settle', '0', '--json']);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { services: { name: string; state: string; detail: string }[] };
}
async function stopOk(): Promise<void> {
  const result = await cli(['stop', 'ok']);
  expect(result.exitCode, result.stderr).toBe(0);
}

describe('start after stop', () => {
  it('asks compose once, for its configuration, and starts the containers the stop left', async () => {
    await startOk();
    const before = await containerIds();
    await stopOk();
    await composeRuns();

    const report = await startOk();
    const runs = await composeRuns();
    expect(runs.ups).toEqual([]);
    // The one run is the one started ahead from what the last start recorded (a run started ahead
    // and then not used would make two: see the last test). The record names variables, no values.
    expect(runs.configs).toHaveLength(1);
    expect(runs.all).toEqual(runs.configs); // nothing else: not even for the completed job
    const recorded = await readFile(join(project.root, '.stackctl', 'compose-ok.json'), 'utf8');
    const invocation = JSON.parse(recorded) as { args: string[]; withheld: string[] };
    expect(invocation.args.slice(0, 2)).toEqual(['-p', `${project.name}-ok`]);
    expect(invocation.withheld).toContain('DB_PASSWORD');
    expect(recorded).not.toContain(await storedDbPassword(project.root, 'ok'));
    expect(await containerIds()).toEqual(before);
    for (const service of ['db', 'web', 'worker'])
      expect((await inspect(`${project.name}-ok-${service}-1`)).State.Status, service).toBe('running');
    expect(report.services.find((service) => service.name === 'migrate')?.detail).toContain('completed');
  });

  it('has compose recreate what the overlay changed while it was stopped, and only that', async () => {
    const before = await containerIds();
    const migrated = (await inspect(`${project.name}-ok-migrate-1`)).State.StartedAt;
    await stopOk();
    await overlay(['  web:', '    environment:', '      REUSE_MARK: changed-while-stopped']);
    await composeRuns();

    await startOk();
    const runs = await composeRuns();
    expect(runs.ups.length).toBeGreaterThan(0);
    const after = await containerIds();
    expect(after.get('web')).not.toBe(before.get('web'));
    expect(after.get('db')).toBe(before.get('db'));
    // The completed job kept its container, so its configuration: it is not run again.
    expect(after.get('migrate')).toBe(before.get('migrate'));
    expect((await inspect(`${project.name}-ok-migrate-1`)).State.StartedAt).toBe(migrated);
    const web = (
      await execa('docker', ['inspect', '--format', '{{json .Config.Env}}', `${project.name}-ok-web-1`])
    ).stdout;
    expect(web).toContain('REUSE_MARK=changed-while-stopped');

    // What compose created is recorded: the next start after a stop runs no compose up again.
    await stopOk();
    await composeRuns();
    await startOk();
    expect((await composeRuns()).ups).toEqual([]);
  });

  it('runs a completed job again once its configuration changed', async () => {
    const before = await inspect(`${project.name}-ok-migrate-1`);
    await stopOk();
    await overlay(['  migrate:', '    environment:', '      REUSE_MARK: job-changed']);
    const report = await startOk();
    const after = await inspect(`${project.name}-ok-migrate-1`);
    expect(after.Id).not.toBe(before.Id);
    expect(Date.parse(after.State.StartedAt)).toBeGreaterThan(Date.parse(before.State.StartedAt));
    expect(report.services.find((service) => service.name === 'migrate')?.detail).toBe('completed (exit 0)');
  });

  it('has compose create a container removed behind its back', async () => {
    await stopOk();
    await execa('docker', ['rm', `${project.name}-ok-worker-1`]);
    await composeRuns();
    await startOk();
    expect((await composeRuns()).ups.length).toBeGreaterThan(0);
    expect((await inspect(`${project.name}-ok-worker-1`)).State.Status).toBe('running');
  });

  it('has compose recreate a container whose image reference names another image now', async () => {
    await overlay(['  worker:', `    image: ${image}`]);
    await startOk();
    await stopOk();
    // The same reference, built anew: another image ID under the same name.
    await execa('docker', ['build', '-q', '-t', image, '-'], {
      input: 'FROM stackctl-test/busybox:1\nLABEL io.stackctl.test-rebuilt=yes\n',
    });
    const rebuilt = (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).stdout;
    await composeRuns();
    await startOk();
    expect((await composeRuns()).ups.length).toBeGreaterThan(0);
    expect((await inspect(`${project.name}-ok-worker-1`)).Image).toBe(rebuilt);
  });

  it('reads the configuration itself when the files changed since the last start', async () => {
    await stopOk();
    const schema = join(project.root, 'schemas', 'compose-schema.yaml');
    await writeFile(
      schema,
      (await readFile(schema, 'utf8')).replace('default: 127.0.0.1', "default: '127.0.0.2'"),
    );
    await composeRuns();
    await startOk();
    const runs = await composeRuns();
    // The run started ahead read the files as they were: start asked again, once they were written.
    expect(runs.configs).toHaveLength(2);
    expect(runs.ups.length).toBeGreaterThan(0);
    const ports = (
      await execa('docker', [
        'inspect',
        '--format',
        '{{json .HostConfig.PortBindings}}',
        `${project.name}-ok-web-1`,
      ])
    ).stdout;
    expect(ports).toContain('127.0.0.2');
  });
});

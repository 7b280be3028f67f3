// The shipped core stack with real PostgreSQL and Redis (images built from Debian's packages by
// .ci/build-test-images.sh, swapped in through the user overlay, as a user would): the credentials
// stackctl generates configure them, the healthchecks pass, data survives stop and start, and
// `wipe --data db` removes the database and nothing else (issue 14).
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { freePort, shippedProject, type TempProject } from '../helpers/project.js';
import { removeByLabel } from '../helpers/stack-project.js';

let project: TempProject;
let name: string;
const ENV = 'development';

beforeAll(async () => {
  project = await shippedProject();
  // A project name and ports of its own, so the test never meets another run's stack.
  name = `data${process.pid}`;
  const path = join(project.root, 'schemas', 'compose-schema.yaml');
  const schema = (await readFile(path, 'utf8')).replace(/^ {2}name: \S+$/m, `  name: ${name}`);
  await writeFile(path, schema);
  await mkdir(join(project.root, 'compose'), { recursive: true });
  // qdrant and minio have no test image here: scaled to none, which start then does not wait for
  // (an image that exists locally, so compose has nothing to pull).
  await writeFile(
    join(project.root, 'compose', 'local.override.yml'),
    [
      'services:',
      '  postgres:',
      '    image: stackctl-test/postgres:2',
      `    ports: !override ['127.0.0.1:${await freePort()}:5432']`,
      '  redis:',
      '    image: stackctl-test/redis:2',
      `    ports: !override ['127.0.0.1:${await freePort()}:6379']`,
      '  qdrant:',
      '    image: stackctl-test/busybox:1',
      '    deploy: { replicas: 0 }',
      '  minio:',
      '    image: stackctl-test/busybox:1',
      '    deploy: { replicas: 0 }',
      '',
    ].join('\n'),
  );
}, 60_000);

afterAll(async () => {
  await removeByLabel(`io.stackctl.project=${name}`);
  await project.remove();
});

const secret = async (variable: string): Promise<string> =>
  (
    JSON.parse(await readFile(join(project.root, 'secrets', `.env.${ENV}.json`), 'utf8')) as {
      secrets: Record<string, { value: string }>;
    }
  ).secrets[variable]?.value ?? '';
const envValue = async (variable: string): Promise<string> =>
  /^(?:'|")?(.*?)(?:'|")?$/.exec(
    (
      (await readFile(join(project.root, `.env.${ENV}`), 'utf8'))
        .split('\n')
        .find((line) => line.startsWith(`${variable}=`)) ?? ''
    ).slice(variable.length + 1),
  )?.[1] ?? '';
const container = (service: string): string => `${name}-${ENV}-${service}-1`;

/** psql over TCP (scram), as a client of the stack would log in; the password goes in the environment. */
const sql = async (query: string, password?: string) =>
  execa(
    'docker',
    [
      'exec',
      '-e',
      'PGPASSWORD',
      container('postgres'),
      'psql',
      '-h',
      '127.0.0.1',
      '-U',
      await envValue('POSTGRES_USER'),
      '-d',
      await envValue('POSTGRES_DB'),
      '-tAc',
      query,
    ],
    { env: { PGPASSWORD: password ?? (await secret('POSTGRES_PASSWORD')) }, reject: false },
  );
const start = () => runCli(['start', ENV, '--stack', 'core', '--skip-preflight'], { cwd: project.root });

describe('real PostgreSQL and Redis from the generated credentials', () => {
  it('start brings them up healthy, and the generated credentials log in', async () => {
    const result = await start();
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await sql('select 1')).stdout).toBe('1');
    const wrong = await sql('select 1', 'not-the-password');
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toContain('password authentication failed');
    const redis = await execa(
      'docker',
      ['exec', '-e', 'REDISCLI_AUTH', container('redis'), 'redis-cli', 'ping'],
      {
        env: { REDISCLI_AUTH: await secret('REDIS_PASSWORD') },
      },
    );
    expect(redis.stdout).toBe('PONG');
    const refused = await execa('docker', ['exec', container('redis'), 'redis-cli', 'ping'], {
      reject: false,
    });
    expect(refused.stdout).toMatch(/NOAUTH/);
  });

  it('keeps data through stop and start', async () => {
    expect((await sql("create table kept (v text); insert into kept values ('survives')")).exitCode).toBe(0);
    expect((await runCli(['stop', ENV], { cwd: project.root })).exitCode).toBe(0);
    expect((await start()).exitCode).toBe(0);
    expect((await sql('select v from kept')).stdout).toBe('survives');
  });

  it('wipe --data db removes the database and nothing else', async () => {
    const redisVolume = `${name}-${ENV}_redis_data`;
    const result = await runCli(['wipe', ENV, '--data', 'db', '--yes', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const removed = (JSON.parse(result.stdout) as { removed: { volumes: string[] } }).removed.volumes;
    expect(removed).toContain(`${name}-${ENV}_postgres_data`);
    expect(removed).not.toContain(redisVolume);
    expect((await execa('docker', ['volume', 'inspect', redisVolume], { reject: false })).exitCode).toBe(0);
    expect((await start()).exitCode).toBe(0);
    const gone = await sql('select v from kept');
    expect(gone.stderr).toContain('relation "kept" does not exist');
  });

  it('rotates the PostgreSQL password in the running database first: the new one logs in, the old one is refused, no data is lost, no value on a command line', async () => {
    expect((await sql("create table rows (v text); insert into rows values ('kept')")).exitCode).toBe(0);
    const old = await secret('POSTGRES_PASSWORD');
    const rotation = execa(
      stackctlCommand(),
      ['secrets', 'rotate', ENV, '--name', 'POSTGRES_PASSWORD', '--yes', '--json'],
      { cwd: project.root, env: { NO_COLOR: '1' }, reject: false },
    );
    const commandLines = new Set<string>();
    let done = false;
    void rotation.finally(() => (done = true));
    while (!done) {
      for (const line of (await execa('ps', ['-eo', 'args'], { reject: false })).stdout.split('\n'))
        commandLines.add(line);
    }
    const result = await rotation;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      rotated: ['POSTGRES_PASSWORD'],
      applied: ['POSTGRES_PASSWORD'],
      recreated: true,
    });
    const next = await secret('POSTGRES_PASSWORD');
    expect(next).not.toBe(old);
    expect((await sql('select v from rows', next)).stdout).toBe('kept');
    expect((await sql('select 1', old)).stderr).toContain('password authentication failed');
    expect(commandLines.size).toBeGreaterThan(10);
    for (const line of commandLines) {
      expect(line).not.toContain(old);
      expect(line).not.toContain(next);
    }
  });

  it('rotates the Redis password live: the new one answers, the old one is refused', async () => {
    const old = await secret('REDIS_PASSWORD');
    const result = await runCli(['secrets', 'rotate', ENV, '--name', 'REDIS_PASSWORD', '--yes'], {
      cwd: project.root,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('applied in the running service: REDIS_PASSWORD');
    const ping = (password: string) =>
      execa('docker', ['exec', '-e', 'REDISCLI_AUTH', container('redis'), 'redis-cli', 'ping'], {
        env: { REDISCLI_AUTH: password },
        reject: false,
      });
    expect((await ping(await secret('REDIS_PASSWORD'))).stdout).toBe('PONG');
    expect((await ping(old)).stdout).toMatch(/WRONGPASS|NOAUTH|invalid/i);
  });

  it('applies a rotation made while the database was down at its next start', async () => {
    expect((await runCli(['stop', ENV], { cwd: project.root })).exitCode).toBe(0);
    const old = await secret('POSTGRES_PASSWORD');
    const result = await runCli(['secrets', 'rotate', ENV, '--name', 'POSTGRES_PASSWORD', '--yes'], {
      cwd: project.root,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'postgres is not running: POSTGRES_PASSWORD is applied to it at the next start',
    );
    const started = await start();
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stderr).toContain('Applied the rotated POSTGRES_PASSWORD in postgres');
    expect((await sql('select v from rows')).stdout).toBe('kept');
    expect((await sql('select 1', old)).stderr).toContain('password authentication failed');
  });

  it('refuses to rotate a secret it cannot apply live, and says how to do it by hand', async () => {
    const before = await readFile(join(project.root, 'secrets', `.env.${ENV}.json`), 'utf8');
    const result = await runCli(['secrets', 'rotate', ENV, '--name', 'GRAFANA_ADMIN_PASSWORD', '--yes'], {
      cwd: project.root,
    });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('GRAFANA_ADMIN_PASSWORD is not rotated');
    expect(result.stderr).toContain('grafana cli admin reset-admin-password');
    expect(await readFile(join(project.root, 'secrets', `.env.${ENV}.json`), 'utf8')).toBe(before);
  });
});

// The shipped core stack with real PostgreSQL and Redis (images built from Debian's packages by
// .ci/build-test-images.sh, swapped in through the user overlay, as a user would): the credentials
// stackctl generates configure them, the healthchecks pass, data survives stop and start, and
// `wipe --data db` removes the database and nothing else (issue 14).
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { dataStack, type DataStack } from '../helpers/data-stack.js';
import { commandLinesWhile } from '../helpers/processes.js';
import type { TempProject } from '../helpers/project.js';

let stack: DataStack;
let project: TempProject;
let name: string;
const ENV = 'development';

beforeAll(async () => {
  // A project name, subnets and ports of its own, so the test never meets another run's stack.
  stack = await dataStack('data', 235);
  project = stack.project;
  name = stack.name;
}, 60_000);
afterAll(() => stack.remove());

const secret = (variable: string): Promise<string> => stack.secret(variable);
const container = (service: string): string => stack.container(service);
const sql = (query: string, password?: string) => stack.sql(query, password);
const start = () => stack.start();

describe('real PostgreSQL and Redis from the generated credentials', () => {
  it('start brings them up healthy, and the generated credentials log in', async () => {
    const result = await start();
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await sql('select 1')).stdout).toBe('1');
    const wrong = await sql('select 1', 'not-the-password');
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toContain('password authentication failed');
    // The shipped init script ran on the first start: pgvector and the AI services' tables are there.
    expect((await sql('select extname from pg_extension order by 1')).stdout.split('\n')).toEqual([
      'plpgsql',
      'uuid-ossp',
      'vector',
    ]);
    expect((await sql("select '[1,2,3]'::vector <-> '[1,2,4]'::vector")).stdout).toBe('1');
    expect(
      (await sql("select count(*) from information_schema.tables where table_name = 'documents'")).stdout,
    ).toBe('1');
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
    const { result, commandLines } = await commandLinesWhile(rotation);
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

// An upgrade whose migration writes to a real PostgreSQL and then fails: the upgrade snapshots
// PostgreSQL first (the shipped schema's backup policy), rolls the job back, and puts the rows back
// as they were. The migration job's images v1 and v2 are built here and pulled from a real local
// registry (Debian's docker-registry).
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { dataStack, type DataStack } from '../helpers/data-stack.js';
import { buildImage, pushAs, startRegistry, type Registry } from '../helpers/registry.js';

let registry: Registry;
let stack: DataStack;
let remote: string;
const local = (name: string): string => `stk253migrate${process.pid}-${name}:1`;

beforeAll(async () => {
  registry = await startRegistry();
  remote = `${registry.host}/stk/migrate:1`;
  // psql from the PostgreSQL test image; the job's connection comes from its environment.
  const base = 'FROM stackctl-test/postgres:3\nENTRYPOINT ["/bin/sh", "-c"]\n';
  await buildImage(
    local('v1'),
    `${base}CMD ["psql -v ON_ERROR_STOP=1 -c 'create table if not exists notes (id int primary key)'"]\n`,
  );
  // Writes a row, then fails half-way: what a broken migration does.
  await buildImage(
    local('v2'),
    `${base}CMD ["psql -v ON_ERROR_STOP=1 -c 'insert into notes values (99)' -c 'alter table notes add column x nosuchtype'"]\n`,
  );
  await pushAs(local('v1'), remote);
  stack = await dataStack('upg', 253, {
    schema: (text) =>
      text
        .replace(/^ {2}redis:\n {4}stack: core\n/m, (redis) =>
          [
            '  migrate:',
            '    stack: core',
            '    kind: job',
            `    image: ${remote}`,
            '    environment:',
            '      PGHOST: postgres',
            '      PGUSER: ${POSTGRES_USER}',
            '      PGDATABASE: ${POSTGRES_DB}',
            '      PGPASSWORD: ${POSTGRES_PASSWORD}',
            '    depends_on:',
            '      postgres: { condition: service_healthy }',
            '',
            redis,
          ].join('\n'),
        )
        .replace(/(development:\n(?:.*\n)*? {4}services:\n {6}\[postgres, )/, '$1migrate, '),
  });
  // Only the job is pulled from a registry: the images built here are marked as never pulled.
  const overlay = join(stack.project.root, 'compose', 'local.override.yml');
  await writeFile(
    overlay,
    (await readFile(overlay, 'utf8')).replace(
      /^( +)image: stackctl-test\/.*\n/gm,
      (line, indent: string) => `${line}${indent}pull_policy: never\n`,
    ),
  );
  const started = await stack.start();
  expect(started.exitCode, started.stderr).toBe(0);
  const rows = await stack.sql('insert into notes values (1), (2), (3)');
  expect(rows.exitCode, rows.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await stack.remove();
  await registry.dispose();
  await execa(
    'sh',
    [
      '-c',
      `docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(stackctl-rollback/${stack.name}|${registry.host}|stk253migrate${String(process.pid)})' | xargs -r docker rmi -f`,
    ],
    { reject: false },
  );
});

describe('upgrade with data', () => {
  it('puts PostgreSQL rows back as they were when the new migration writes and then fails', async () => {
    await pushAs(local('v2'), remote);
    await execa('docker', ['tag', local('v1'), remote]);
    const result = await runCli(['upgrade', stack.env, '--pull', '--yes'], {
      cwd: stack.project.root,
    });
    expect(result.exitCode, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toMatch(/migrate exited/);
    expect(result.stdout).toMatch(/data restored from the snapshot: postgres/);
    const rows = await stack.sql('select id from notes order by id');
    expect(rows.stdout.trim().split('\n')).toEqual(['1', '2', '3']);
    // The shipped schema's own checks: a login to PostgreSQL and a write to Redis, stored credentials.
    const verified = await runCli(['verify', stack.env, '--service', 'postgres', '--service', 'redis'], {
      cwd: stack.project.root,
    });
    expect(verified.exitCode, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain('2 checks passed');
    const releases = JSON.parse(
      (await runCli(['releases', stack.env, '--json'], { cwd: stack.project.root })).stdout,
    ) as { state: string; snapshot: { services: string[] }; rollback: { restoredData: string[] } }[];
    expect(releases.at(-1)).toMatchObject({
      state: 'rolled-back',
      snapshot: { services: ['postgres'] },
      rollback: { restoredData: ['postgres'] },
    });
  }, 240_000);
});

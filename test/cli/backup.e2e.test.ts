// Backups of real data services (issue 15): PostgreSQL and Redis built from Debian's packages, a
// volume, and the encrypted config; written, destroyed, restored and read back.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { dataStack, type DataStack } from '../helpers/data-stack.js';

let stack: DataStack;

interface BackupJson {
  id: string;
  environment: string;
  tier: string;
  created: string;
  artifacts: { service: string; type: string; path: string; bytes: number; sha256: string }[];
}

beforeAll(async () => {
  stack = await dataStack('bkp', 238);
  const started = await stack.start();
  expect(started.exitCode, started.stderr).toBe(0);
}, 120_000);
afterAll(() => stack.remove());

const cli = (args: string[]) => runCli(args, { cwd: stack.project.root });
const backup = async (...args: string[]): Promise<BackupJson> => {
  const result = await cli(['backup', stack.env, '--json', ...args]);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as BackupJson;
};
const qdrantFile = (command: string) =>
  execa('docker', ['exec', stack.container('qdrant'), 'sh', '-c', command], { reject: false });

describe('backup and restore of real data services', () => {
  it('writes data, backs it up, destroys it, restores it and reads it back', async () => {
    expect(
      (
        await stack.sql(
          "create table items (n int, label text); insert into items select g, 'item ' || g from generate_series(1, 5000) g",
        )
      ).exitCode,
    ).toBe(0);
    expect(await stack.redis('SET', 'greeting', 'hello from before')).toBe('OK');
    expect((await qdrantFile('echo collection-data > /qdrant/storage/points.bin')).exitCode).toBe(0);

    const made = await backup();
    expect(made.environment).toBe(stack.env);
    expect(made.tier).toBe('local');
    expect(made.artifacts.map((a) => `${a.service}:${a.type}`)).toEqual([
      'postgres:full',
      'redis:rdb',
      'qdrant:volume',
      'config:config',
    ]);
    for (const artifact of made.artifacts) {
      const content = await readFile(artifact.path);
      expect(content.length, artifact.path).toBe(artifact.bytes);
      expect(createHash('sha256').update(content).digest('hex')).toBe(artifact.sha256);
      expect((await stat(artifact.path)).mode & 0o777).toBe(0o600);
    }
    expect((await stat(join(stack.project.root, 'backups'))).mode & 0o777).toBe(0o700);
    // The config holds the secret store: it is encrypted, so no secret value is in it in clear.
    const config = (await readFile(made.artifacts[3]?.path ?? '')).toString('latin1');
    expect(config).not.toContain(await stack.secret('POSTGRES_PASSWORD'));

    const listed = await cli(['backup', 'list', stack.env, '--json']);
    expect(JSON.parse(listed.stdout)).toEqual({
      backups: [
        {
          id: made.id,
          environment: stack.env,
          created: made.created,
          tier: 'local',
          services: ['postgres', 'redis', 'qdrant', 'config'],
          bytes: made.artifacts.reduce((sum, a) => sum + a.bytes, 0),
        },
      ],
    });

    expect((await stack.sql('drop table items')).exitCode).toBe(0);
    expect(await stack.redis('FLUSHALL')).toBe('OK');
    expect((await qdrantFile('rm /qdrant/storage/points.bin')).exitCode).toBe(0);

    const restored = await cli(['restore', stack.env, '--from', made.id, '--yes']);
    expect(restored.exitCode, restored.stderr + restored.stdout).toBe(0);
    expect((await stack.sql('select count(*), max(label) from items')).stdout).toBe('5000|item 999');
    expect(await stack.redis('GET', 'greeting')).toBe('hello from before');
    expect((await qdrantFile('cat /qdrant/storage/points.bin')).stdout).toBe('collection-data');
  }, 120_000);
});

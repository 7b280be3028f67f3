// Online backups (issue 25): Qdrant through its snapshot API while it runs, against a stand-in that
// answers the API reference's snapshot routes (test/helpers/qdrant-contract.ts; no Qdrant image can
// be built here). The service is never stopped; what the server made is deleted after; a restore
// uploads each collection back with priority=snapshot.
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { dataStack, type DataStack } from '../helpers/data-stack.js';
import { startQdrantContract, type QdrantContract } from '../helpers/qdrant-contract.js';

let stack: DataStack;
let qdrant: QdrantContract;
let apiKey: string;

beforeAll(async () => {
  // The key the stand-in wants is the one stackctl generates for the environment: set after start.
  qdrant = await startQdrantContract('set-below');
  stack = await dataStack('onl', 226, {
    qdrantBackup: 'api',
    // The shipped schema reaches Qdrant at its published port; here the stand-in serves the API.
    schema: (text) => text.replace("url: 'http://127.0.0.1:${QDRANT_HTTP_PORT}'", `url: '${qdrant.url}'`),
  });
  const started = await stack.start();
  expect(started.exitCode, started.stderr).toBe(0);
  apiKey = await stack.secret('QDRANT_API_KEY');
  expect(apiKey.length).toBeGreaterThan(16);
  await qdrant.close();
  qdrant = await startQdrantContract(apiKey);
  // The stand-in moved to another port: the schema follows it.
  const path = `${stack.project.root}/schemas/compose-schema.yaml`;
  const schema = await readFile(path, 'utf8');
  await (
    await import('node:fs/promises')
  ).writeFile(path, schema.replace(/url: 'http:\/\/127\.0\.0\.1:\d+'/, `url: '${qdrant.url}'`));
}, 120_000);
afterAll(async () => {
  await qdrant.close();
  await stack.remove();
});

const cli = (args: string[]) => runCli(args, { cwd: stack.project.root });
const startedAt = async (): Promise<string> =>
  (await execa('docker', ['inspect', '-f', '{{.State.StartedAt}}', stack.container('qdrant')])).stdout;

describe('Qdrant backed up through its snapshot API', () => {
  it('snapshots every collection while Qdrant runs, keeps none on the server, and restores them', async () => {
    qdrant.collections.set('documents', Buffer.from('points of documents '.repeat(5000)));
    qdrant.collections.set('images', Buffer.from([0, 1, 2, 255, 254]));
    const before = await startedAt();

    const made = await cli(['backup', stack.env, '--service', 'qdrant', '--json']);
    expect(made.exitCode, made.stderr).toBe(0);
    const set = JSON.parse(made.stdout) as {
      id: string;
      artifacts: { service: string; type: string; path: string }[];
    };
    expect(set.artifacts.map((artifact) => `${artifact.service}:${artifact.type}`)).toEqual([
      'qdrant:snapshot',
    ]);
    // Online: the container was never stopped, and the server keeps no snapshot of ours.
    expect(await startedAt()).toBe(before);
    expect([...qdrant.snapshots.values()].every((held) => held.size === 0)).toBe(true);
    expect(qdrant.calls).toContain('POST /collections/documents/snapshots?wait=true');
    // The artifact is a tar of one snapshot per collection.
    const listing = await execa('tar', ['-tvf', set.artifacts[0]?.path ?? '']);
    expect(listing.stdout).toMatch(/documents\.snapshot/);
    expect(listing.stdout).toMatch(/images\.snapshot/);

    // Lost, and changed: the restore puts both back as they were.
    qdrant.collections.delete('images');
    qdrant.collections.set('documents', Buffer.from('changed'));
    const restored = await cli(['restore', stack.env, '--from', set.id, '--service', 'qdrant', '--yes']);
    expect(restored.exitCode, restored.stderr + restored.stdout).toBe(0);
    expect(qdrant.collections.get('documents')?.toString()).toBe('points of documents '.repeat(5000));
    expect([...(qdrant.collections.get('images') ?? [])]).toEqual([0, 1, 2, 255, 254]);
    expect(qdrant.calls).toContain('POST /collections/images/snapshots/upload?priority=snapshot&wait=true');
    expect(await startedAt()).toBe(before);
  }, 120_000);

  it('a wrong API key is one line naming the call and what to check, and nothing is kept', async () => {
    await qdrant.close();
    qdrant = await startQdrantContract('another-key');
    const path = `${stack.project.root}/schemas/compose-schema.yaml`;
    await writeFile(
      path,
      (await readFile(path, 'utf8')).replace(/url: 'http:\/\/127\.0\.0\.1:\d+'/, `url: '${qdrant.url}'`),
    );
    const sets = async (): Promise<number> =>
      (JSON.parse((await cli(['backup', 'list', stack.env, '--json'])).stdout) as { backups: unknown[] })
        .backups.length;
    const before = await sets();
    const failed = await cli(['backup', stack.env, '--service', 'qdrant']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain(`Qdrant at ${qdrant.url}: GET collections answered 401: Invalid api-key`);
    expect(failed.stderr).toContain('the API key is wrong');
    expect(failed.stderr).not.toContain(apiKey);
    expect(await sets()).toBe(before);
  }, 60_000);
});

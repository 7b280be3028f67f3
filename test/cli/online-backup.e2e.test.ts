// Online backups (issue 25): Qdrant through its snapshot API while it runs, against a stand-in that
// answers the API reference's snapshot routes (test/helpers/qdrant-contract.ts; no Qdrant image can
// be built here). The service is never stopped; what the server made is deleted after; a restore
// uploads each collection back with priority=snapshot. MinIO's objects through the S3 API, against
// a real S3 server (moto, on loopback), with their content types and metadata.
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { execa, type ResultPromise } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { dataStack, type DataStack } from '../helpers/data-stack.js';
import { freePort } from '../helpers/project.js';
import { startQdrantContract, type QdrantContract } from '../helpers/qdrant-contract.js';

let stack: DataStack;
let qdrant: QdrantContract;
let apiKey: string;
let s3Port: number;
let s3Server: ResultPromise | undefined;

beforeAll(async () => {
  // The key the stand-in wants is the one stackctl generates for the environment: set after start.
  qdrant = await startQdrantContract('set-below');
  s3Port = await freePort();
  s3Server = execa('/usr/bin/python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(s3Port)], {
    reject: false,
    stdio: 'ignore',
  });
  stack = await dataStack('onl', 226, {
    qdrantBackup: 'api',
    // The shipped schema reaches Qdrant and MinIO at their published ports; here stand-ins serve the APIs.
    schema: (text) =>
      text
        .replace("url: 'http://127.0.0.1:${QDRANT_HTTP_PORT}'", `url: '${qdrant.url}'`)
        .replace("url: 'http://127.0.0.1:${MINIO_PORT}'", `url: 'http://127.0.0.1:${s3Port}'`),
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
  s3Server?.kill();
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

describe('MinIO backed up through the S3 API', () => {
  it('copies every bucket and object with its type and metadata, and puts them back', async () => {
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${s3Port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
    for (let i = 0; ; i++) {
      try {
        await s3.send(new CreateBucketCommand({ Bucket: 'uploads' }));
        break;
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await s3.send(new CreateBucketCommand({ Bucket: 'empty-bucket' }));
    const large = Buffer.alloc(3 * 1024 * 1024, 7);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'uploads',
        Key: 'images/cat photo.png',
        Body: large,
        ContentType: 'image/png',
        Metadata: { owner: 'ada', source: 'camera' },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'notes.txt', Body: 'hello' }));

    const made = await cli(['backup', stack.env, '--service', 'minio', '--json']);
    expect(made.exitCode, made.stderr).toBe(0);
    const set = JSON.parse(made.stdout) as { id: string; artifacts: { service: string; type: string }[] };
    expect(set.artifacts.map((artifact) => `${artifact.service}:${artifact.type}`)).toEqual([
      'minio:objects',
    ]);

    await s3.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: 'images/cat photo.png' }));
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'notes.txt', Body: 'changed' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'empty-bucket' }));
    const restored = await cli(['restore', stack.env, '--from', set.id, '--service', 'minio', '--yes']);
    expect(restored.exitCode, restored.stderr + restored.stdout).toBe(0);

    const photo = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'images/cat photo.png' }));
    expect(photo.ContentType).toBe('image/png');
    expect(photo.Metadata).toEqual({ owner: 'ada', source: 'camera' });
    expect(Buffer.from(await photo.Body!.transformToByteArray()).equals(large)).toBe(true);
    const notes = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'notes.txt' }));
    expect(await notes.Body!.transformToString()).toBe('hello');
    await s3.send(new PutObjectCommand({ Bucket: 'empty-bucket', Key: 'x', Body: 'bucket exists again' }));
    s3.destroy();
  }, 120_000);
});

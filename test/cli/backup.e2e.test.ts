// Backups of real data services (issue 15): PostgreSQL and Redis built from Debian's packages, a
// volume, and the encrypted config; written, destroyed, restored and read back.
import { execa, type ResultPromise } from 'execa';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { dataStack, type DataStack } from '../helpers/data-stack.js';
import { freePort } from '../helpers/project.js';
import { commandLinesWhile } from '../helpers/processes.js';
import { Terminal } from '../helpers/terminal.js';

let stack: DataStack;

interface BackupJson {
  id: string;
  environment: string;
  tier: string;
  created: string;
  artifacts: { service: string; type: string; path: string; bytes: number; sha256: string }[];
}

const BUCKET = 'stackctl-backups';
let s3Port: number;
let s3Server: ResultPromise | undefined;

let remoteFolder: string;
let hungServer: Server | undefined;
let hungPort: number;

beforeAll(async () => {
  // A remote tier is any mounted folder: a temporary one stands in for an NFS mount.
  remoteFolder = await mkdtemp(join(tmpdir(), 'stackctl-nas-'));
  hungServer = createServer(() => undefined); // accepts, reads, never answers
  await new Promise<void>((resolve) => hungServer?.listen(0, '127.0.0.1', resolve));
  hungPort = (hungServer.address() as AddressInfo).port;
  s3Port = await freePort();
  s3Server = execa('/usr/bin/python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(s3Port)], {
    reject: false,
    stdio: 'ignore',
  });
  // A volume of logs on qdrant, for retention's expiry of old log files.
  stack = await dataStack('bkp', 233, {
    schema: (text) =>
      text
        .replace(
          'volumes:\n',
          'volumes:\n  app_logs: { data: logs, description: Logs for the retention test }\n',
        )
        .replace(
          "volumes: ['qdrant_data:/qdrant/storage']",
          "volumes: ['qdrant_data:/qdrant/storage', 'app_logs:/logs']",
        )
        // An S3 tier on moto's S3 server on loopback (started above).
        .replace(
          '    local: { type: local, path: backups }\n',
          [
            '    local: { type: local, path: backups }',
            `    nas: { type: remote, path: ${remoteFolder} }`,
            '    cloud:',
            '      type: s3',
            `      bucket: ${BUCKET}`,
            '      prefix: team/stack',
            `      endpoint: http://127.0.0.1:${s3Port}`,
            '      credentials: { accessKeyId: BACKUP_S3_ACCESS_KEY_ID, secretAccessKey: BACKUP_S3_SECRET_ACCESS_KEY }',
            '',
          ].join('\n'),
        ),
  });
  const started = await stack.start();
  expect(started.exitCode, started.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  s3Server?.kill();
  hungServer?.close();
  await rm(remoteFolder, { recursive: true, force: true });
  await stack.remove();
});

const cli = (args: string[]) => runCli(args, { cwd: stack.project.root });
const backup = async (...args: string[]): Promise<BackupJson> => {
  const result = await cli(['backup', stack.env, '--json', '--allow-stop', ...args]);
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
    expect(made.artifacts.map((a) => `${a.service}:${a.type}:${a.path.split('/').at(-1)}`)).toEqual([
      'postgres:full:postgres.full.dump',
      'redis:rdb:redis.rdb',
      'qdrant:volume:qdrant.qdrant_data.tar',
      'qdrant:volume:qdrant.app_logs.tar',
      'config:config:config.enc',
    ]);
    for (const artifact of made.artifacts) {
      const content = await readFile(artifact.path);
      expect(content.length, artifact.path).toBe(artifact.bytes);
      expect(createHash('sha256').update(content).digest('hex')).toBe(artifact.sha256);
      expect((await stat(artifact.path)).mode & 0o777).toBe(0o600);
    }
    expect((await stat(join(stack.project.root, 'backups'))).mode & 0o777).toBe(0o700);
    // The config holds the secret store: it is encrypted, so no secret value is in it in clear.
    const config = (await readFile(made.artifacts[4]?.path ?? '')).toString('latin1');
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

    // A person reads the list as a table; latest and a unique start of an id name the same set.
    const table = await cli(['backup', 'list', stack.env]);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID +ENVIRONMENT +CREATED +TIER +SIZE +SERVICES$/);
    for (const from of ['latest', made.id.slice(0, 12)]) {
      const dry = await cli(['restore', stack.env, '--from', from, '--dry-run', '--json']);
      expect(dry.exitCode, dry.stderr).toBe(0);
      expect((JSON.parse(dry.stdout) as { id: string }).id).toBe(made.id);
    }

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

describe('what a backup never does', () => {
  it('puts no secret value on a command line or in its output, backing up and restoring', async () => {
    const store = JSON.parse(
      await readFile(join(stack.project.root, 'secrets', `.env.${stack.env}.json`), 'utf8'),
    ) as {
      secrets: Record<string, { value: string }>;
    };
    const values = Object.values(store.secrets).map((entry) => entry.value);
    const backedUp = await commandLinesWhile(
      execa(
        stackctlCommand(),
        ['backup', stack.env, '--service', 'redis', '--service', 'postgres', '--service', 'config', '--json'],
        {
          cwd: stack.project.root,
          reject: false,
        },
      ),
    );
    expect(backedUp.result.exitCode, backedUp.result.stderr).toBe(0);
    const id = (JSON.parse(backedUp.result.stdout) as BackupJson).id;
    const restored = await commandLinesWhile(
      execa(stackctlCommand(), ['restore', stack.env, '--from', id, '--service', 'redis', '--yes'], {
        cwd: stack.project.root,
        reject: false,
      }),
    );
    expect(restored.result.exitCode, restored.result.stderr).toBe(0);
    const seen = [...backedUp.commandLines, ...restored.commandLines];
    expect(seen.length).toBeGreaterThan(10);
    for (const value of values) {
      for (const line of seen) expect(line).not.toContain(value);
      for (const output of [backedUp.result, restored.result]) {
        expect(String(output.stdout)).not.toContain(value);
        expect(String(output.stderr)).not.toContain(value);
      }
    }
  }, 120_000);

  it('a corrupted artifact fails verify, naming it, and restore then leaves the database untouched', async () => {
    const made = await backup('--service', 'postgres');
    const dump = made.artifacts[0]?.path ?? '';
    const bytes = await readFile(dump);
    const middle = bytes.length >> 1;
    bytes.writeUInt8((bytes.readUInt8(middle) ^ 0xff) & 0xff, middle);
    await writeFile(dump, bytes);

    const verified = await cli(['backup', 'verify', made.id]);
    expect(verified.exitCode).toBe(1);
    expect(verified.stderr).toContain(`${dump}: sha256`);
    const json = JSON.parse((await cli(['backup', 'verify', made.id, '--json'])).stdout) as { ok: boolean };
    expect(json.ok).toBe(false);

    expect(
      (await stack.sql("create table marker (v text); insert into marker values ('untouched')")).exitCode,
    ).toBe(0);
    const restored = await cli(['restore', stack.env, '--from', made.id, '--yes']);
    expect(restored.exitCode).toBe(1);
    expect(restored.stderr).toContain(`backup ${made.id} failed verification: nothing was restored`);
    expect((await stack.sql('select v from marker')).stdout).toBe('untouched');
  }, 120_000);

  it('an interrupted backup is never listed, and retention cleanup removes what it left', async () => {
    const before = JSON.parse((await cli(['backup', 'list', stack.env, '--json'])).stdout) as {
      backups: { id: string }[];
    };
    // A larger database, so the dump is still streaming when the backup is killed.
    expect(
      (
        await stack.sql(
          "create table bulk as select g, repeat('x', 200) as pad from generate_series(1, 200000) g",
        )
      ).exitCode,
    ).toBe(0);
    const folder = join(stack.project.root, 'backups', stack.env);
    const child = execa(stackctlCommand(), ['backup', stack.env, '--service', 'postgres'], {
      cwd: stack.project.root,
      reject: false,
    });
    let partial: string | undefined;
    for (let i = 0; i < 400 && partial === undefined; i++) {
      partial = (await readdir(folder)).find((name) => name.endsWith('.partial'));
      if (partial === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(partial).toBeDefined();
    child.kill('SIGKILL');
    await child;
    const after = JSON.parse((await cli(['backup', 'list', stack.env, '--json'])).stdout) as {
      backups: { id: string }[];
    };
    expect(after.backups.map((b) => b.id)).toEqual(before.backups.map((b) => b.id));

    const tested = JSON.parse((await cli(['retention', 'test', stack.env, '--json'])).stdout) as {
      leftovers: { location: string }[];
    };
    expect(tested.leftovers.map((l) => l.location)).toEqual([join(folder, partial ?? '')]);
    const cleaned = await cli(['retention', 'cleanup', stack.env, '--yes']);
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    expect((await readdir(folder)).filter((name) => name.endsWith('.partial'))).toEqual([]);
    expect((await stack.sql('drop table bulk')).exitCode).toBe(0);
  }, 120_000);
});

describe('retention', () => {
  it('test shows what would expire and removes nothing; cleanup keeps the newest backup of each service', async () => {
    const ids = async (): Promise<string[]> =>
      (
        JSON.parse((await cli(['backup', 'list', stack.env, '--json'])).stdout) as {
          backups: { id: string }[];
        }
      ).backups.map((b) => b.id);
    await backup();
    const newest = await backup('--service', 'redis');
    const all = await ids();
    // A year on, everything has expired but the newest backup of each service.
    const now = new Date(Date.now() + 365 * 86_400_000).toISOString();
    const test = JSON.parse((await cli(['retention', 'test', stack.env, '--now', now, '--json'])).stdout) as {
      backups: { id: string; expired: boolean; reason: string }[];
      removed: boolean;
    };
    expect(test.removed).toBe(false);
    const kept = test.backups.filter((b) => !b.expired).map((b) => b.id);
    expect(kept).toContain(newest.id);
    expect(test.backups.find((b) => b.id === newest.id)?.reason).toContain('newest sound backup of redis');
    expect(test.backups.filter((b) => b.expired).length).toBeGreaterThan(0);
    expect(await ids()).toEqual(all);

    const cleaned = await cli(['retention', 'cleanup', stack.env, '--now', now, '--yes', '--json']);
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    expect(await ids()).toEqual(all.filter((id) => kept.includes(id)));
    // Every service that had a backup still has one.
    const status = JSON.parse((await cli(['backup', 'status', stack.env, '--json'])).stdout) as {
      services: { service: string; last: string | null; status: string }[];
    };
    for (const service of ['postgres', 'redis', 'qdrant', 'config'])
      expect(status.services.find((s) => s.service === service)?.last, service).not.toBeNull();
  }, 120_000);
});

describe('Redis as its AOF', () => {
  it('backs up the AOF files and restores them', async () => {
    expect(await stack.redis('SET', 'aof-key', 'from the aof')).toBe('OK');
    const made = await backup('--service', 'redis', '--type', 'aof');
    expect(made.artifacts.map((a) => a.type)).toEqual(['aof']);
    expect(await stack.redis('DEL', 'aof-key')).toBe('1');
    const restored = await cli(['restore', stack.env, '--from', made.id, '--yes']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await stack.redis('GET', 'aof-key')).toBe('from the aof');
  }, 120_000);
});

describe('retention of log files', () => {
  it('test lists the log files past the policy and cleanup removes exactly those', async () => {
    const inQdrant = (command: string) => qdrantFile(command);
    expect(
      (await inQdrant('touch -d "2020-01-01 00:00" /logs/old.log && touch /logs/new.log')).exitCode,
    ).toBe(0);
    const test = JSON.parse((await cli(['retention', 'test', stack.env, '--json'])).stdout) as {
      files: { service: string; volume: string; path: string }[];
    };
    expect(test.files).toEqual([
      { environment: stack.env, service: 'qdrant', volume: 'app_logs', path: '/logs/old.log' },
    ]);
    expect((await inQdrant('ls /logs')).stdout.split('\n').sort()).toEqual(['new.log', 'old.log']);
    const cleaned = await cli(['retention', 'cleanup', stack.env, '--yes']);
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    expect((await inQdrant('ls /logs')).stdout).toBe('new.log');
  }, 60_000);
});

describe('the S3 tier', () => {
  it('round-trips a database larger than one upload part through an S3 server, keys from the secret store', async () => {
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${s3Port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test-key-id', secretAccessKey: 'test-secret-key' },
    });
    for (let i = 0; ; i++) {
      try {
        await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
        break;
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    // Without its keys the tier says which, and how to store them.
    const missing = await cli(['backup', stack.env, '--service', 'postgres', '--tier', 'cloud']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('secrets set');
    for (const [name, value] of [
      ['BACKUP_S3_ACCESS_KEY_ID', 'test-key-id'],
      ['BACKUP_S3_SECRET_ACCESS_KEY', 'test-secret-key'],
    ] as const) {
      const set = await runCli(['secrets', 'set', stack.env, name], {
        cwd: stack.project.root,
        input: value,
      });
      expect(set.exitCode, set.stderr).toBe(0);
      expect(set.stderr).not.toContain(value);
    }
    const again = await runCli(['secrets', 'set', stack.env, 'BACKUP_S3_ACCESS_KEY_ID'], {
      cwd: stack.project.root,
      input: 'x',
    });
    expect(again.exitCode).toBe(4);
    // What set stored, get gives back (asked by name); a value that is not text, or is a file's worth, is refused.
    const got = await cli(['secrets', 'get', stack.env, 'BACKUP_S3_ACCESS_KEY_ID']);
    expect(got.exitCode, got.stderr).toBe(0);
    expect(got.stdout).toBe('test-key-id');
    for (const [input, message] of [
      [Buffer.from([0x6b, 0x65, 0x79, 0xff, 0xfe]), 'is not UTF-8 text'],
      [Buffer.alloc(2 * 1024 * 1024, 0x61), 'is longer than 65536 bytes'],
    ] as const) {
      const refused = await execa(
        stackctlCommand(),
        ['secrets', 'set', stack.env, 'BACKUP_S3_ACCESS_KEY_ID', '--replace'],
        {
          cwd: stack.project.root,
          input,
          reject: false,
          env: { NO_COLOR: '1' },
        },
      );
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toContain(message);
    }
    expect((await cli(['secrets', 'get', stack.env, 'BACKUP_S3_ACCESS_KEY_ID'])).stdout).toBe('test-key-id');

    // About 20 MB of dump: more than one 8 MiB part.
    expect(
      (
        await stack.sql(
          'create table big as select g, md5(g::text) || md5((g * 7)::text) as a, md5((g * 13)::text) as b from generate_series(1, 400000) g',
        )
      ).exitCode,
    ).toBe(0);
    const made = await backup('--service', 'postgres', '--tier', 'cloud');
    expect(made.tier).toBe('cloud');
    const artifact = made.artifacts[0];
    expect(artifact?.path).toBe(`s3://${BUCKET}/team/stack/${stack.env}/${made.id}/postgres.full.dump`);
    expect(artifact?.bytes).toBeGreaterThan(8 * 1024 * 1024);
    const objects = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `team/stack/${stack.env}/${made.id}/` }),
    );
    expect(objects.Contents?.map((o) => o.Key?.split('/').at(-1)).sort()).toEqual([
      'manifest.json',
      'postgres.full.dump',
    ]);

    const listed = JSON.parse((await cli(['backup', 'list', stack.env, '--json'])).stdout) as {
      backups: { id: string; tier: string }[];
    };
    expect(listed.backups.find((b) => b.id === made.id)?.tier).toBe('cloud');
    expect((await cli(['backup', 'verify', made.id])).exitCode).toBe(0);

    expect((await stack.sql('drop table big')).exitCode).toBe(0);
    const restored = await cli(['restore', stack.env, '--from', made.id, '--yes']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect((await stack.sql('select count(*) from big')).stdout).toBe('400000');
    // The SDK's notice about the Node versions of its 2027 releases is not printed on every run.
    expect(restored.stderr).not.toContain('NodeVersionSupportWarning');

    // An upload cut short where no abort reached the server: retention lists it once it is old
    // enough, and cleanup aborts it.
    const orphan = await client.send(
      new CreateMultipartUploadCommand({
        Bucket: BUCKET,
        Key: `team/stack/${stack.env}/orphan/postgres.full.dump`,
      }),
    );
    const dayOn = new Date(Date.now() + 86_400_000).toISOString();
    const test = JSON.parse(
      (await cli(['retention', 'test', stack.env, '--now', dayOn, '--json'])).stdout,
    ) as {
      leftovers: { tier: string; location: string }[];
    };
    expect(test.leftovers).toContainEqual({
      tier: 'cloud',
      environment: stack.env,
      location: `s3://${BUCKET}/team/stack/${stack.env}/orphan/postgres.full.dump?uploadId=${orphan.UploadId ?? ''}`,
    });
    const cleaned = await cli(['retention', 'cleanup', stack.env, '--now', dayOn, '--yes']);
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect((uploads.Uploads ?? []).map((upload) => upload.UploadId)).not.toContain(orphan.UploadId);
  }, 180_000);

  it('a server that never answers fails the backup within its timeout, and frees the lock', async () => {
    const schemaPath = join(stack.project.root, 'schemas', 'compose-schema.yaml');
    const schema = await readFile(schemaPath, 'utf8');
    // A server that accepts connections and never answers.
    await writeFile(
      schemaPath,
      schema.replace(
        '    cloud:\n',
        [
          '    hung:',
          '      type: s3',
          `      bucket: ${BUCKET}`,
          `      endpoint: http://127.0.0.1:${hungPort}`,
          '      timeoutSeconds: 2',
          '      credentials: { accessKeyId: BACKUP_S3_ACCESS_KEY_ID, secretAccessKey: BACKUP_S3_SECRET_ACCESS_KEY }',
          '    cloud:',
          '',
        ].join('\n'),
      ),
    );
    try {
      const started = Date.now();
      const hung = await cli(['backup', stack.env, '--service', 'redis', '--tier', 'hung']);
      expect(hung.exitCode, hung.stderr).toBe(1);
      expect(hung.stderr).toMatch(/backup tier hung \(s3:\/\/stackctl-backups\): .* failed/);
      expect(Date.now() - started).toBeLessThan(45_000);
      // Nothing holds the environment: the next backup runs at once.
      const next = await cli(['backup', stack.env, '--service', 'redis', '--tier', 'local', '--json']);
      expect(next.exitCode, next.stderr).toBe(0);
    } finally {
      await writeFile(schemaPath, schema);
    }
  }, 120_000);
});

describe('on a real terminal', () => {
  it('shows bytes and rate while it copies; Ctrl-C stops it with 130, keeps nothing, and starts the service again', async () => {
    expect(
      (await qdrantFile('dd if=/dev/urandom of=/qdrant/storage/big bs=1M count=1500 2>/dev/null')).exitCode,
    ).toBe(0);
    const listing = () => readdir(join(stack.project.root, 'backups', stack.env)).catch(() => [] as string[]);
    const before = await listing();
    const terminal = await Terminal.open(
      [stackctlCommand(), 'backup', stack.env, '--service', 'qdrant', '--allow-stop'],
      {
        cwd: stack.project.root,
      },
    );
    try {
      await terminal.waitFor(/Backing up qdrant \(volume\): [\d.]+ [KMG]?B, [\d.]+ [KMG]?B\/s/, 30_000);
      await terminal.send('C-c');
      expect(await terminal.exitCode(10_000)).toBe(130);
      expect(await terminal.screen()).toContain('interrupted: no backup of development was made');
    } finally {
      await terminal.close();
    }
    expect(await listing()).toEqual(before);
    const state = await execa('docker', ['inspect', '-f', '{{.State.Status}}', stack.container('qdrant')]);
    expect(state.stdout).toBe('running');
    expect((await qdrantFile('rm /qdrant/storage/big')).exitCode).toBe(0);
  }, 120_000);
});

describe('a remote tier', () => {
  it('keeps sets in the mounted folder it names, and they verify and restore from there', async () => {
    expect(await stack.redis('SET', 'remote-key', 'kept on the nas')).toBe('OK');
    const made = await backup('--service', 'redis', '--tier', 'nas');
    expect(made.tier).toBe('nas');
    expect(made.artifacts[0]?.path).toBe(join(remoteFolder, stack.env, made.id, 'redis.rdb'));
    expect((await readdir(join(remoteFolder, stack.env))).filter((name) => !name.startsWith('.'))).toContain(
      made.id,
    );
    expect((await cli(['backup', 'verify', made.id])).exitCode).toBe(0);
    expect(await stack.redis('DEL', 'remote-key')).toBe('1');
    const restored = await cli(['restore', stack.env, '--from', made.id, '--yes']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await stack.redis('GET', 'remote-key')).toBe('kept on the nas');
  }, 120_000);
});

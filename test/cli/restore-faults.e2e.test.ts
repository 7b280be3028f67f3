// Restores and backups under faults (issue 32): a volume restore after the service's mount path
// moved, a volume restore cut short by SIGTERM, a backup whose volume copy is interrupted (SIGHUP:
// a closed terminal) while the service is being stopped. Real engine, real volumes, real
// PostgreSQL beside them.
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { dataStack, type DataStack } from '../helpers/data-stack.js';
import { runOneOff } from '../helpers/one-off.js';

let stack: DataStack;

beforeAll(async () => {
  stack = await dataStack('rsf', 227);
  const started = await stack.start();
  expect(started.exitCode, started.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await stack.remove();
});

const cli = (args: string[]) => runCli(args, { cwd: stack.project.root });
const inQdrant = (command: string) =>
  execa('docker', ['exec', stack.container('qdrant'), 'sh', '-c', command], { reject: false });
const backupQdrant = async (): Promise<string> => {
  const made = await cli(['backup', stack.env, '--service', 'qdrant', '--json', '--allow-stop']);
  expect(made.exitCode, made.stderr).toBe(0);
  return (JSON.parse(made.stdout) as { id: string }).id;
};
const volume = (): string => `${stack.name}-${stack.env}_qdrant_data`;
/** The volume's own content, read through a container of its own (never the service's mount). */
const inVolume = (command: string) =>
  runOneOff('stackctl-test/busybox:1', command, ['--network', 'none', '-v', `${volume()}:/v`]);
const schemaPath = (): string => join(stack.project.root, 'schemas', 'compose-schema.yaml');
const overlayPath = (): string => join(stack.project.root, 'compose', 'local.override.yml');

describe('a volume restore', () => {
  it('after the mount path moved, lands in the volume, not in the container, and is checked', async () => {
    expect(
      (await inQdrant('mkdir -p /qdrant/storage/c1 && echo points > /qdrant/storage/c1/points.bin')).exitCode,
    ).toBe(0);
    const id = await backupQdrant();
    // The volume's volume name must not depend on where it is mounted.
    expect((await inVolume('cat /v/c1/points.bin')).stdout).toBe('points');

    const schema = await readFile(schemaPath(), 'utf8');
    expect(schema).toContain("volumes: ['qdrant_data:/qdrant/storage']");
    await writeFile(
      schemaPath(),
      schema.replace("'qdrant_data:/qdrant/storage'", "'qdrant_data:/qdrant/data'"),
    );
    try {
      const restarted = await stack.start();
      expect(restarted.exitCode, restarted.stderr).toBe(0);
      expect((await inQdrant('rm -rf /qdrant/data/c1 && ls -A /qdrant/data')).stdout).toBe('');

      const restored = await cli(['restore', stack.env, '--from', id, '--service', 'qdrant', '--yes']);
      expect(restored.exitCode, restored.stderr + restored.stdout).toBe(0);
      expect((await inQdrant('cat /qdrant/data/c1/points.bin')).stdout).toBe('points');
      // Nothing went to the old path inside the container's own filesystem, nothing is left over.
      expect((await inQdrant('ls /qdrant/storage')).exitCode).not.toBe(0);
      expect((await inVolume('ls -A /v')).stdout.split('\n')).toEqual(['c1']);
    } finally {
      await writeFile(schemaPath(), schema);
      expect((await stack.start()).exitCode).toBe(0);
    }
  }, 180_000);

  it('cut short by SIGTERM keeps the previous content, says so, and starts the service again', async () => {
    expect(
      (await inQdrant('dd if=/dev/urandom of=/qdrant/storage/big bs=1M count=600 2>/dev/null && echo ok'))
        .stdout,
    ).toBe('ok');
    const id = await backupQdrant();
    // Changed after the backup: an interrupted restore must leave exactly this.
    expect(
      (await inQdrant('echo after-backup > /qdrant/storage/marker && md5sum /qdrant/storage/big')).exitCode,
    ).toBe(0);
    const checksum = (await inVolume('md5sum /v/big | cut -d" " -f1')).stdout;

    const restore = execa(
      stackctlCommand(),
      ['restore', stack.env, '--from', id, '--service', 'qdrant', '--yes'],
      {
        cwd: stack.project.root,
        env: { NO_COLOR: '1' },
        reject: false,
      },
    );
    // The copy is under way once the staging folder is in the volume.
    for (let tries = 0; ; tries += 1) {
      expect(tries, 'the restore never began copying').toBeLessThan(600);
      if ((await inVolume('ls -d /v/.stackctl-restore-* 2>/dev/null')).stdout !== '') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    restore.kill('SIGTERM');
    const result = await restore;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toMatch(/not restored.*qdrant_data kept its previous content/s);
    expect((await inVolume('cat /v/marker')).stdout).toBe('after-backup');
    expect((await inVolume('md5sum /v/big | cut -d" " -f1')).stdout).toBe(checksum);
    expect((await inVolume('ls -A /v | grep -c "^.stackctl-"')).stdout).toBe('0');
    const state = await execa('docker', ['inspect', '-f', '{{.State.Status}}', stack.container('qdrant')]);
    expect(state.stdout).toBe('running');
    expect((await inQdrant('rm -f /qdrant/storage/big /qdrant/storage/marker')).exitCode).toBe(0);
  }, 240_000);
});

describe('an interrupted backup', () => {
  it('hung up while the service is being stopped for its copy: the service runs again and the report says so', async () => {
    // A service slow to stop (PID 1 ignores SIGTERM): the stop takes its whole grace period.
    const overlay = await readFile(overlayPath(), 'utf8');
    await writeFile(
      overlayPath(),
      overlay.replace('    init: true\n', '    init: false\n    stop_grace_period: 4s\n'),
    );
    try {
      expect((await stack.start()).exitCode).toBe(0);
      const events = execa(
        'docker',
        [
          'events',
          '--filter',
          `container=${stack.container('qdrant')}`,
          '--filter',
          'event=kill',
          '--format',
          '{{.Action}}',
        ],
        { reject: false },
      );
      const backup = execa(stackctlCommand(), ['backup', stack.env, '--service', 'qdrant', '--allow-stop'], {
        cwd: stack.project.root,
        env: { NO_COLOR: '1' },
        reject: false,
      });
      // The stop has begun (Docker sent SIGTERM) and will take seconds: now the terminal closes.
      await new Promise<void>((resolve) => {
        events.stdout?.on('data', () => resolve());
      });
      backup.kill('SIGHUP');
      const result = await backup;
      events.kill();
      expect(result.exitCode).toBe(130);
      expect(result.stderr).toContain('interrupted: no backup of development was made');
      expect(result.stderr).toContain('qdrant, stopped for a volume copy, run again');
      const state = await execa('docker', ['inspect', '-f', '{{.State.Status}}', stack.container('qdrant')]);
      expect(state.stdout).toBe('running');
    } finally {
      await writeFile(overlayPath(), overlay);
      expect((await stack.start()).exitCode).toBe(0);
    }
  }, 180_000);
});

describe('backup sets on disk that are not what they say', () => {
  const setFolder = (id: string): string => join(stack.project.root, 'backups', stack.env, id);
  const listed = async (): Promise<string[]> =>
    (
      JSON.parse((await cli(['backup', 'list', stack.env, '--json'])).stdout) as { backups: { id: string }[] }
    ).backups.map((backup) => backup.id);

  it('retention never removes the last sound set of a service when the newest is damaged', async () => {
    const older = await backupQdrant();
    const newer = await backupQdrant();
    await rm(join(setFolder(newer), 'qdrant.qdrant_data.tar'));
    const yearOn = new Date(Date.now() + 365 * 86_400_000).toISOString();
    const cleaned = await cli(['retention', 'cleanup', stack.env, '--now', yearOn, '--yes', '--json']);
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    const report = JSON.parse(cleaned.stdout) as {
      backups: { id: string; expired: boolean; reason: string }[];
    };
    expect(report.backups.find((backup) => backup.id === older)).toMatchObject({ expired: false });
    expect(report.backups.find((backup) => backup.id === older)?.reason).toContain(
      'newest sound backup of qdrant',
    );
    expect(report.backups.find((backup) => backup.id === newer)?.reason).toContain('damaged: qdrant');
    expect(await listed()).toContain(older);
    const restored = await cli(['restore', stack.env, '--from', older, '--service', 'qdrant', '--dry-run']);
    expect(restored.exitCode, restored.stderr).toBe(0);
  }, 120_000);

  it('a manifest naming a path outside its set, or carrying terminal escapes, is no backup', async () => {
    const id = await backupQdrant();
    const manifestPath = join(setFolder(id), 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
      id: string;
      artifacts: { file: string; service: string }[];
    };
    const forged = `${id.slice(0, -6)}f0rged`;
    await mkdir(setFolder(forged));
    await writeFile(
      join(setFolder(forged), 'manifest.json'),
      JSON.stringify({
        ...manifest,
        id: forged,
        artifacts: manifest.artifacts.map((artifact) => ({
          ...artifact,
          file: `${'../'.repeat(12)}etc/passwd`,
        })),
      }),
    );
    const escaped = `${id.slice(0, -6)}esc4pe`;
    await mkdir(setFolder(escaped));
    await writeFile(
      join(setFolder(escaped), 'manifest.json'),
      JSON.stringify({
        ...manifest,
        id: escaped,
        artifacts: manifest.artifacts.map((artifact) => ({
          ...artifact,
          service: 'qdrant\u001b[2J\nfake line',
        })),
      }),
    );
    const ids = await listed();
    expect(ids).toContain(id);
    expect(ids).not.toContain(forged);
    expect(ids).not.toContain(escaped);
    const text = await cli(['backup', 'list', stack.env]);
    expect(text.stdout).not.toContain('\u001b');
    expect(text.stdout).not.toContain('fake line');
    const dry = await cli(['restore', stack.env, '--from', forged, '--dry-run']);
    expect(dry.exitCode).toBe(2);
    expect(dry.stdout).not.toContain('passwd');
  }, 120_000);

  it('an artifact replaced by a FIFO fails verify at once instead of hanging', async () => {
    const id = await backupQdrant();
    const artifact = join(setFolder(id), 'qdrant.qdrant_data.tar');
    await rm(artifact);
    await execa('mkfifo', [artifact]);
    const started = Date.now();
    const verified = await cli(['backup', 'verify', id]);
    expect(verified.exitCode).toBe(1);
    expect(verified.stderr + verified.stdout).toContain('not a regular file');
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 120_000);
});

describe('a config restore after a rotation', () => {
  it('keeps the live database password (the backup’s saved aside); a store that no longer opens the database fails start', async () => {
    const made = await cli(['backup', stack.env, '--service', 'config', '--json']);
    expect(made.exitCode, made.stderr).toBe(0);
    const id = (JSON.parse(made.stdout) as { id: string }).id;
    const before = await stack.secret('POSTGRES_PASSWORD');
    const rotated = await cli(['secrets', 'rotate', stack.env, '--name', 'POSTGRES_PASSWORD', '--yes']);
    expect(rotated.exitCode, rotated.stderr).toBe(0);
    const live = await stack.secret('POSTGRES_PASSWORD');
    expect(live).not.toBe(before);

    const restored = await cli([
      'restore',
      stack.env,
      '--from',
      id,
      '--service',
      'config',
      '--yes',
      '--json',
    ]);
    expect(restored.exitCode, restored.stderr).toBe(0);
    const report = JSON.parse(restored.stdout) as { secretsKept: string[]; backupSecretsSavedTo: string };
    expect(report.secretsKept).toContain('POSTGRES_PASSWORD');
    expect(await stack.secret('POSTGRES_PASSWORD')).toBe(live);
    expect(await stack.envValue('POSTGRES_PASSWORD')).toBe(live);
    const aside = join(stack.project.root, report.backupSecretsSavedTo);
    expect(await readFile(aside, 'utf8')).toContain(before);
    expect((await stat(aside)).mode & 0o777).toBe(0o600);
    expect(restored.stdout + restored.stderr).not.toContain(before);
    expect((await stack.sql('select 1')).stdout).toBe('1');
    expect((await stack.start()).exitCode).toBe(0);

    // Asked to take the backup's values: the store no longer opens the database, and start says so.
    const forced = await cli([
      'restore',
      stack.env,
      '--from',
      id,
      '--service',
      'config',
      '--secrets-from-backup',
      '--yes',
      '--json',
    ]);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const replaced = JSON.parse(forced.stdout) as { secretsReplaced: string[]; liveSecretsSavedTo: string };
    expect(replaced.secretsReplaced).toContain('POSTGRES_PASSWORD');
    expect(await readFile(join(stack.project.root, replaced.liveSecretsSavedTo), 'utf8')).toContain(live);
    expect(await stack.secret('POSTGRES_PASSWORD')).toBe(before);
    const started = await stack.start();
    expect(started.exitCode).toBe(1);
    expect(started.stderr).toContain('POSTGRES_PASSWORD in the secret store does not open postgres');
    expect(started.stderr).not.toContain(before);

    // The value the database uses, put back by hand as the hint says: start is whole again.
    const set = await runCli(['secrets', 'set', stack.env, 'POSTGRES_PASSWORD', '--replace'], {
      cwd: stack.project.root,
      input: live,
    });
    expect(set.exitCode, set.stderr).toBe(0);
    const again = await stack.start();
    expect(again.exitCode, again.stderr).toBe(0);
  }, 240_000);
});

describe('a backup tier that fills up', () => {
  it('fails with one line saying the disk is full, keeps nothing, and the service runs', async () => {
    const mountPoint = await mkdtemp(join(tmpdir(), 'stackctl-full-tier-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
    const schema = await readFile(schemaPath(), 'utf8');
    try {
      await writeFile(
        schemaPath(),
        schema.replace(
          '    local: { type: local, path: backups }\n',
          `    local: { type: local, path: backups }\n    tiny: { type: remote, path: ${mountPoint} }\n`,
        ),
      );
      expect(
        (await inQdrant('dd if=/dev/urandom of=/qdrant/storage/filler bs=1M count=3 2>/dev/null')).exitCode,
      ).toBe(0);
      const full = await cli(['backup', stack.env, '--service', 'qdrant', '--tier', 'tiny', '--allow-stop']);
      expect(full.exitCode).toBe(1);
      expect(full.stderr).toMatch(
        /backup tier tiny: writing qdrant\.qdrant_data\.tar into .* failed: the disk is full \(ENOSPC\)/,
      );
      expect(full.stderr).not.toContain('unexpected');
      expect(await readdir(join(mountPoint, stack.env))).toEqual([]);
      const state = await execa('docker', ['inspect', '-f', '{{.State.Status}}', stack.container('qdrant')]);
      expect(state.stdout).toBe('running');
    } finally {
      await writeFile(schemaPath(), schema);
      await inQdrant('rm -f /qdrant/storage/filler');
      await execa('umount', [mountPoint], { reject: false });
      await rm(mountPoint, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('a backup that stops a service', () => {
  it('says so and refuses without a terminal unless --allow-stop; the service is never touched', async () => {
    const before = (
      await execa('docker', ['inspect', '-f', '{{.State.StartedAt}}', stack.container('qdrant')])
    ).stdout;
    const refused = await cli(['backup', stack.env, '--service', 'qdrant']);
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain('qdrant is stopped while its volume is copied, then started again');
    expect(refused.stderr).toContain(
      `backup of ${stack.env} would stop qdrant to copy its volume; nothing was done`,
    );
    expect(refused.stderr).toContain('--allow-stop');
    expect(
      (await execa('docker', ['inspect', '-f', '{{.State.StartedAt}}', stack.container('qdrant')])).stdout,
    ).toBe(before);
    // A schedule stops it only when the policy says it may.
    const shown = await cli(['schedule', 'show', stack.env, '--json']);
    expect(shown.stdout).not.toContain('--allow-stop');
    const schema = await readFile(schemaPath(), 'utf8');
    try {
      await writeFile(
        schemaPath(),
        schema.replace(/^( {4}development: \{ days: 7,)/m, '$1 allowStop: true,'),
      );
      expect((await cli(['schedule', 'show', stack.env, '--json'])).stdout).toContain('--allow-stop');
    } finally {
      await writeFile(schemaPath(), schema);
    }
  }, 60_000);
});

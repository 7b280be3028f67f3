// wipe, reset and first-run against a real engine, next to decoys that must survive every variant:
// resources of another compose project (even with our stackctl label) and unlabelled look-alikes.
import { execa } from 'execa';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { readVolumeFile } from '../helpers/one-off.js';
import { inspect, removeByLabel, stackProject, type StackProject } from '../helpers/stack-project.js';

const IMAGE = 'stackctl-test/busybox:1';
let project: StackProject;
let decoy: { label: string; containers: string[]; volumes: string[]; networks: string[] };

const docker = (...args: string[]) => execa('docker', args);
const exists = async (kind: 'container' | 'volume' | 'network', name: string): Promise<boolean> =>
  (await execa('docker', [kind, 'inspect', name], { reject: false })).exitCode === 0;

async function start(env = 'ok'): Promise<void> {
  const result = await runCli(['start', env, '--skip-preflight'], { cwd: project.root });
  expect(result.exitCode, result.stderr).toBe(0);
}

async function decoysIntact(): Promise<void> {
  for (const name of decoy.containers) expect(await exists('container', name), name).toBe(true);
  for (const name of decoy.networks) expect(await exists('network', name), name).toBe(true);
  for (const name of decoy.volumes) {
    expect(await exists('volume', name), name).toBe(true);
    expect(await readVolumeFile(name, 'precious.txt')).toBe('do not delete');
  }
}

beforeAll(async () => {
  project = await stackProject(249);
  const p = project.name;
  const label = `io.stackctl.test-decoy=${p}`;
  // Another compose project that even carries our stackctl project label, and unlabelled look-alikes.
  const otherProject = [
    '--label',
    `com.docker.compose.project=${p}-other`,
    '--label',
    `io.stackctl.project=${p}`,
    '--label',
    label,
  ];
  const lookAlike = ['--label', label];
  decoy = {
    label,
    containers: [`${p}-other-db-1`, `${p}-ok-db-2`],
    volumes: [`${p}-other_db_data`, `${p}-ok_db_data_copy`],
    networks: [`${p}-other_core-net`, `${p}-ok_core-net-copy`],
  };
  await docker('volume', 'create', ...otherProject, decoy.volumes[0] as string);
  await docker('volume', 'create', ...lookAlike, decoy.volumes[1] as string);
  for (const volume of decoy.volumes) {
    await docker(
      'run',
      '--rm',
      '-v',
      `${volume}:/d`,
      IMAGE,
      'sh',
      '-c',
      'printf "do not delete" > /d/precious.txt',
    );
  }
  await docker('network', 'create', ...otherProject, decoy.networks[0] as string);
  await docker('network', 'create', ...lookAlike, decoy.networks[1] as string);
  await docker(
    'run',
    '-d',
    '--init',
    '--name',
    decoy.containers[0] as string,
    ...otherProject,
    '--network',
    decoy.networks[0] as string,
    '-v',
    `${decoy.volumes[0]}:/d`,
    IMAGE,
    'sleep',
    '3600',
  );
  await docker(
    'run',
    '-d',
    '--init',
    '--name',
    decoy.containers[1] as string,
    ...lookAlike,
    '-v',
    `${decoy.volumes[1]}:/d`,
    IMAGE,
    'sleep',
    '3600',
  );
  await start();
}, 120_000);

afterAll(async () => {
  await removeByLabel(decoy.label);
  await project.remove();
});

describe('stackctl wipe', () => {
  it('refuses without a terminal unless --yes, removing nothing', async () => {
    const result = await runCli(['wipe', 'ok'], { cwd: project.root });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('pass --yes');
    expect((await inspect(`${project.name}-ok-db-1`)).State.Status).toBe('running');
  });

  it('--data cache removes the cache volume (and the container using it) and keeps the database and its files', async () => {
    await docker('exec', `${project.name}-ok-db-1`, 'sh', '-c', 'echo kept > /data/rows.txt');
    const result = await runCli(['wipe', 'ok', '--data', 'cache', '--yes', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      removed: {
        containers: [`${project.name}-ok-web-1`],
        volumes: [`${project.name}-ok_web_cache`],
        networks: [],
      },
    });
    expect(await readVolumeFile(`${project.name}-ok_db_data`, 'rows.txt')).toBe('kept\n');
    expect((await inspect(`${project.name}-ok-db-1`)).State.Status).toBe('running');
    await decoysIntact();
  });

  it('--stack app removes that stack and leaves core running', async () => {
    await start();
    const result = await runCli(['wipe', 'ok', '--stack', 'app', '--yes', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    const removed = (JSON.parse(result.stdout) as { removed: { containers: string[]; networks: string[] } })
      .removed;
    expect(removed.containers.sort()).toEqual(
      ['migrate', 'web', 'worker'].map((s) => `${project.name}-ok-${s}-1`),
    );
    expect(removed.networks).toEqual([`${project.name}-ok_app-net`]);
    expect((await inspect(`${project.name}-ok-db-1`)).State.Status).toBe('running');
    await decoysIntact();
  });

  it('the preview lists exactly what is then removed; a second wipe is a no-op that says so', async () => {
    await start();
    const preview = JSON.parse(
      (await runCli(['wipe', 'ok', '--dry-run', '--json'], { cwd: project.root })).stdout,
    ) as {
      containers: string[];
      volumes: { name: string }[];
      networks: string[];
    };
    expect(await exists('container', `${project.name}-ok-db-1`)).toBe(true);
    const result = await runCli(['wipe', 'ok', '--yes', '--json'], { cwd: project.root });
    const removed = (
      JSON.parse(result.stdout) as {
        removed: { containers: string[]; volumes: string[]; networks: string[] };
      }
    ).removed;
    expect(removed.containers.sort()).toEqual(preview.containers.sort());
    expect(removed.volumes.sort()).toEqual(preview.volumes.map((v) => v.name).sort());
    expect(removed.networks.sort()).toEqual(preview.networks.sort());
    expect(preview.containers).toHaveLength(4);
    for (const name of removed.volumes) expect(await exists('volume', name)).toBe(false);
    await decoysIntact();
    const again = await runCli(['wipe', 'ok', '--yes'], { cwd: project.root });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('Nothing to wipe in ok: already clean.');
  });

  it("takes compose's <project>_default network too, made for a service of the user's overlay on no network", async () => {
    await start();
    const overlay = join(project.root, 'compose', 'local.override.yml');
    const before = await readFile(overlay, 'utf8').catch(() => undefined);
    await writeFile(
      overlay,
      `${before ?? 'services:\n'}  extra-tool:\n    image: ${IMAGE}\n    init: true\n    command: ['sleep', '3600']\n`,
    );
    try {
      const generated = JSON.parse(
        (await runCli(['generate', 'ok', '--json'], { cwd: project.root })).stdout,
      ) as {
        environments: { composeFiles: string[] }[];
      };
      const files = generated.environments[0]?.composeFiles ?? [];
      await execa(
        'docker',
        [
          'compose',
          '--project-directory',
          project.root,
          '--env-file',
          join(project.root, '.env.ok'),
          ...files.flatMap((file) => ['-f', join(project.root, file)]),
          'up',
          '-d',
          'extra-tool',
        ],
        { cwd: project.root },
      );
      const network = `${project.name}-ok_default`;
      expect(await exists('network', network)).toBe(true);
      // The overlay's own service is no stackctl service: wipe names it as what holds the network.
      const blocked = await runCli(['wipe', 'ok', '--yes'], { cwd: project.root });
      expect(blocked.exitCode).toBe(4);
      expect(blocked.stderr).toContain(`docker rm -f ${project.name}-ok-extra-tool-1`);
      await docker('rm', '-f', `${project.name}-ok-extra-tool-1`);
      const result = await runCli(['wipe', 'ok', '--yes', '--json'], { cwd: project.root });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(await exists('network', network)).toBe(false);
      await decoysIntact();
    } finally {
      await execa('docker', ['rm', '-f', `${project.name}-ok-extra-tool-1`], { reject: false });
      if (before === undefined) await rm(overlay, { force: true });
      else await writeFile(overlay, before);
    }
  });

  it("--secrets removes the environment's secrets and env files after a 0600 backup", async () => {
    await start();
    const before = await readFile(join(project.root, 'secrets', '.env.ok.json'), 'utf8');
    const result = await runCli(['wipe', 'ok', '--secrets', '--yes', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { removed: { files: string[] }; backups: string[] };
    expect(report.removed.files.sort()).toEqual(['.env.ok', 'k8s-secrets-ok.yaml', 'secrets/.env.ok.json']);
    expect(await readdir(project.root)).not.toContain('.env.ok');
    // Every file it removed was copied first, 0600, into the 0700 secrets folder.
    expect(report.backups.map((path) => basename(path).replace(/\.bak-.*/, '')).sort()).toEqual([
      '.env.ok',
      '.env.ok.json',
      'k8s-secrets-ok.yaml',
    ]);
    for (const backup of report.backups) {
      expect(dirname(backup)).toBe(join(project.root, 'secrets'));
      expect((await stat(backup)).mode & 0o777).toBe(0o600);
    }
    const storeBackup = report.backups.find((path) => basename(path).startsWith('.env.ok.json')) as string;
    expect(await readFile(storeBackup, 'utf8')).toBe(before);
    expect((await stat(join(project.root, 'secrets'))).mode & 0o777).toBe(0o700);
    await decoysIntact();
  });
});

describe('stackctl reset and start first-run', () => {
  it('reset --start wipes, regenerates the secrets and starts healthy', async () => {
    await start();
    const oldSecret = await readFile(join(project.root, 'secrets', '.env.ok.json'), 'utf8');
    const result = await runCli(['reset', 'ok', '--yes', '--start'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await readFile(join(project.root, 'secrets', '.env.ok.json'), 'utf8')).not.toBe(oldSecret);
    // stackctl may see the healthcheck pass before Docker's next run of it records healthy.
    await expect
      .poll(async () => (await inspect(`${project.name}-ok-web-1`)).State.Health?.Status)
      .toBe('healthy');
    await decoysIntact();
  });

  it('start first-run refuses without --yes off a terminal, and with it wipes and starts the first-run environment', async () => {
    const refused = await runCli(['start', 'first-run'], { cwd: project.root });
    expect(refused.exitCode).toBe(4);
    expect((await inspect(`${project.name}-ok-db-1`)).State.Status).toBe('running');
    const dbBefore = (await inspect(`${project.name}-ok-db-1`)).Id;
    const result = await runCli(['start', 'first-run', '--yes'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await inspect(`${project.name}-ok-db-1`)).Id).not.toBe(dbBefore);
    await decoysIntact();
  });

  it('network check names orphaned networks; network cleanup removes only those', async () => {
    // A network of an environment (stuck) that has no container at all: an orphan.
    const orphan = `${project.name}-stuck_orphan-net`;
    await docker(
      'network',
      'create',
      '--label',
      `io.stackctl.project=${project.name}`,
      '--label',
      `com.docker.compose.project=${project.name}-stuck`,
      orphan,
    );
    const check = await runCli(['network', 'check', 'ok', '--json'], { cwd: project.root });
    const checks = (JSON.parse(check.stdout) as { checks: { id: string; status: string; message: string }[] })
      .checks;
    expect(checks.find((c) => c.id === 'orphans')).toMatchObject({
      status: 'warn',
      message: `networks of environments that have no container left: ${orphan}`,
    });
    expect((await runCli(['network', 'cleanup'], { cwd: project.root })).exitCode).toBe(4);
    const result = await runCli(['network', 'cleanup', '--yes', '--json'], { cwd: project.root });
    expect(JSON.parse(result.stdout)).toEqual({ removed: [orphan] });
    expect(await exists('network', orphan)).toBe(false);
    expect(await exists('network', `${project.name}-ok_core-net`)).toBe(true);
    await decoysIntact();
  });

  it("network cleanup leaves a stopped environment's networks, and start recreates one removed anyway", async () => {
    await start();
    const stop = await runCli(['stop', 'ok'], { cwd: project.root });
    expect(stop.exitCode, stop.stderr).toBe(0);
    // No container is attached while they are stopped, yet they still refer to their networks.
    const cleanup = await runCli(['network', 'cleanup', '--yes', '--json'], { cwd: project.root });
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    expect(JSON.parse(cleanup.stdout)).toEqual({ removed: [] });
    expect(await exists('network', `${project.name}-ok_app-net`)).toBe(true);
    // Removed behind stackctl's back (docker network prune would): start repairs instead of failing.
    await docker('network', 'rm', `${project.name}-ok_app-net`);
    const dbVolumeBefore = await readVolumeFile(`${project.name}-ok_db_data`, 'rows.txt').catch(() => '');
    const restarted = await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    expect(restarted.stderr).toContain('a network they were on was removed');
    expect((await inspect(`${project.name}-ok-web-1`)).State.Status).toBe('running');
    expect(await readVolumeFile(`${project.name}-ok_db_data`, 'rows.txt').catch(() => '')).toBe(
      dbVolumeBefore,
    );
    await decoysIntact();
  });

  it('a wipe blocked by a container outside the project removes nothing and names the blocker', async () => {
    await start();
    const intruder = `${project.name}-intruder`;
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      intruder,
      '--label',
      decoy.label,
      '-v',
      `${project.name}-ok_db_data:/d`,
      IMAGE,
      'sleep',
      '3600',
    );
    decoy.containers.push(intruder);
    const preview = await runCli(['wipe', 'ok', '--dry-run'], { cwd: project.root });
    expect(preview.stdout).toContain(`blocked    volume ${project.name}-ok_db_data is in use by ${intruder}`);
    for (const args of [
      ['wipe', 'ok'],
      ['wipe', 'ok', '--data', 'db'],
      ['wipe', 'ok', '--stack', 'core'],
    ]) {
      const result = await runCli([...args, '--yes'], { cwd: project.root });
      expect(result.exitCode, args.join(' ')).toBe(4);
      expect(result.stderr).toContain(
        `nothing removed: volume ${project.name}-ok_db_data is in use by container ${intruder}`,
      );
      expect(result.stderr).toContain(`docker rm -f ${intruder}`);
      // Everything previewed is still there: nothing went half-way.
      for (const service of ['db', 'web', 'worker'])
        expect((await inspect(`${project.name}-ok-${service}-1`)).State.Status).toBe('running');
      expect(await exists('volume', `${project.name}-ok_web_cache`)).toBe(true);
      expect(await exists('network', `${project.name}-ok_app-net`)).toBe(true);
    }
    await docker('rm', '-f', intruder);
    decoy.containers.pop();
    const freed = await runCli(['wipe', 'ok', '--data', 'db', '--yes'], { cwd: project.root });
    expect(freed.exitCode, freed.stderr).toBe(0);
    await decoysIntact();
  });

  it("clean removes only this project's stopped containers", async () => {
    await start();
    const stoppedDecoy = `${project.name}-other-job-1`;
    await docker(
      'create',
      '--name',
      stoppedDecoy,
      '--label',
      decoy.label,
      '--label',
      `io.stackctl.project=${project.name}`,
      '--label',
      `com.docker.compose.project=${project.name}-other`,
      IMAGE,
      'true',
    );
    decoy.containers.push(stoppedDecoy);
    const result = await runCli(['clean', '--yes', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as {
      removed: { kind: string; name: string }[];
      failed: unknown[];
    };
    expect(report.removed.map((c) => c.name)).toEqual([`${project.name}-ok-migrate-1`]);
    expect(report.failed).toEqual([]);
    expect(await exists('container', `${project.name}-ok-migrate-1`)).toBe(false);
    expect((await inspect(`${project.name}-ok-db-1`)).State.Status).toBe('running');
    await decoysIntact();
    const again = await runCli(['clean', '--yes'], { cwd: project.root });
    expect(again.stdout).toContain(`Nothing of ${project.name} to clean.`);
  });

  it('clean keeps away from an environment that is starting (its lock), and reports a removal Docker refused', async () => {
    await start();
    const lock = join(project.root, '.stackctl', 'locks', 'ok.lock');
    await writeFile(
      lock,
      JSON.stringify({ pid: process.pid, command: 'start ok', startedAt: new Date().toISOString() }),
    );
    const refused = await runCli(['clean', '--yes', '--json'], { cwd: project.root });
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain('locked by `stackctl start ok`');
    expect(await exists('container', `${project.name}-ok-migrate-1`)).toBe(true);
    await rm(lock);

    // A dangling image of this project that a running container (not ours) still uses: Docker refuses.
    const image = `stackctl-test/${project.name}-held:1`;
    const base = (await docker('create', '--label', decoy.label, IMAGE, 'true')).stdout.trim();
    await docker('commit', '-c', `LABEL com.docker.compose.project=${project.name}-ok`, base, image);
    await docker('rm', base);
    const holder = `${project.name}-image-holder`;
    await docker('run', '-d', '--init', '--name', holder, '--label', decoy.label, image, 'sleep', '3600');
    decoy.containers.push(holder);
    await docker('tag', IMAGE, image); // the tag moves: the committed image is now dangling
    const result = await runCli(['clean', '--yes', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as {
      removed: { kind: string; name: string }[];
      failed: { kind: string; name: string; error: string }[];
    };
    expect(report.removed).toEqual([
      expect.objectContaining({ kind: 'container', name: `${project.name}-ok-migrate-1` }),
    ]);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0]).toMatchObject({ kind: 'image' });
    expect(report.failed[0]?.error).toMatch(/being used|conflict/i);
    await docker('rm', '-f', holder);
    decoy.containers.pop();
    await docker('rmi', image);
    await decoysIntact();
  });

  it("a wipe of every environment must be asked for by name, and takes only this project's resources", async () => {
    const unnamed = await runCli(['wipe', '--yes'], { cwd: project.root });
    expect(unnamed.exitCode).toBe(2);
    expect(unnamed.stderr).toContain('which environment? name one, or --all');
    expect((await runCli(['reset', '--yes'], { cwd: project.root })).exitCode).toBe(2);
    expect((await inspect(`${project.name}-ok-db-1`)).State.Status).toBe('running');
    const result = await runCli(['wipe', '--all', '--yes'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    const left = (
      await docker(
        'ps',
        '-a',
        '--filter',
        `label=io.stackctl.project=${project.name}`,
        '--format',
        '{{.Names}}',
      )
    ).stdout;
    expect(left.split('\n').filter(Boolean).sort()).toEqual([
      `${project.name}-other-db-1`,
      `${project.name}-other-job-1`,
    ]);
    await decoysIntact();
  });
});

describe('a removal Docker refuses part-way', () => {
  it('is reported as what was removed and what was not, never as an unexpected failure', async () => {
    const { removePlanned } = await import('../../src/effects/inventory.js');
    const { dockerClient } = await import('../../src/effects/docker.js');
    const name = `stackctl-race-${process.pid}`;
    await docker('volume', 'create', '--label', `io.stackctl.test-decoy=${name}`, `${name}-held`);
    await docker('volume', 'create', '--label', `io.stackctl.test-decoy=${name}`, `${name}-free`);
    // Taken by a container outside the project after the wipe looked.
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      `${name}-outsider`,
      '-v',
      `${name}-held:/d`,
      IMAGE,
      'sleep',
      '600',
    );
    try {
      const volume = (volumeName: string) => ({ name: volumeName, labels: {}, sizeBytes: undefined });
      await expect(
        removePlanned(dockerClient(process.env), {
          containers: [],
          volumes: [volume(`${name}-held`), volume(`${name}-free`)],
          networks: [],
          swarm: [],
        }),
      ).rejects.toThrow(
        new RegExp(`^wipe removed 1 of 2 items; Docker refused volume ${name}-held \\(.*in use.*\\)$`),
      );
      expect(await exists('volume', `${name}-held`)).toBe(true);
      expect(await exists('volume', `${name}-free`)).toBe(false);
    } finally {
      await execa('docker', ['rm', '-f', `${name}-outsider`], { reject: false });
      await execa('docker', ['volume', 'rm', '-f', `${name}-held`, `${name}-free`], { reject: false });
    }
  });
});

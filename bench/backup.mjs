// Backup and restore throughput of a real PostgreSQL database (built from Debian's packages by
// .ci/build-test-images.sh) against pg_dump and pg_restore run by hand in the same container, and
// stackctl's peak memory meanwhile (GNU time's maximum resident set size); then a volume copy of
// BENCH_VOLUME_GB (default 2) GB, to show memory stays flat whatever the size.
// Sizes: BENCH_DB_ROWS (default 4,500,000 rows, about 600 MB on disk).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeProjectResources } from './docker-cleanup.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.STACKCTL_BIN ?? join(root, 'bin', 'stackctl');
const rows = Number(process.env.BENCH_DB_ROWS ?? 4_500_000);
const volumeGb = Number(process.env.BENCH_VOLUME_GB ?? 2);
const project = `bkbench${process.pid}`;
const env = 'development';

const dir = mkdtempSync(join(tmpdir(), 'stackctl-bench-backup-'));
mkdirSync(join(dir, 'schemas'));
cpSync(join(root, 'env-templates'), join(dir, 'env-templates'), { recursive: true });
// What the services mount from the project (PostgreSQL's init script), as in a checkout.
mkdirSync(join(dir, 'configs'));
cpSync(join(root, 'configs', 'postgres'), join(dir, 'configs', 'postgres'), { recursive: true });
writeFileSync(
  join(dir, 'schemas', 'compose-schema.yaml'),
  readFileSync(join(root, 'schemas', 'compose-schema.yaml'), 'utf8')
    .replace(/^ {2}name: \S+$/m, `  name: ${project}`)
    .replace('addressPool: 10.30.0.0/20', 'addressPool: 10.236.0.0/20')
    // Qdrant stands in (busybox) for a service whose volume is copied: no online snapshot API.
    .replace(/^ {4}backup: \{ method: qdrant, [^\n]*\n/m, ''),
);
mkdirSync(join(dir, 'compose'));
writeFileSync(
  join(dir, 'compose', 'local.override.yml'),
  [
    'services:',
    '  postgres:',
    '    image: stackctl-test/postgres-vector:1',
    '    ports: !reset []',
    '  redis:',
    '    image: stackctl-test/redis:2',
    '    ports: !reset []',
    '  qdrant:',
    '    image: stackctl-test/busybox:1',
    '    init: true',
    "    command: ['sleep', '3600']",
    '    ports: !reset []',
    "    healthcheck: { test: ['CMD', 'true'], interval: 1s, start_interval: 250ms }",
    '  minio:',
    '    image: stackctl-test/busybox:1',
    '    deploy: { replicas: 0 }',
    '',
  ].join('\n'),
);

const container = (service) => `${project}-${env}-${service}-1`;
const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};
const timed = (fn) => {
  const start = process.hrtime.bigint();
  const value = fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
};
/** Runs stackctl under GNU time: wall seconds and peak memory (MB). */
const stackctl = (args) => {
  const { value, seconds } = timed(() =>
    spawnSync('/usr/bin/time', ['-f', '%M', bin, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    }),
  );
  if (value.status !== 0) throw new Error(`stackctl ${args.join(' ')}: ${value.stderr}`);
  const peakKb = Number(value.stderr.trim().split('\n').at(-1));
  return { stdout: value.stdout, seconds, peakMb: peakKb / 1024 };
};
const user = () =>
  /^POSTGRES_USER=(.*)$/m.exec(readFileSync(join(dir, `.env.${env}`), 'utf8'))?.[1]?.replace(/'/g, '');
const psql = (sql) =>
  run('docker', [
    'exec',
    '-u',
    'postgres',
    container('postgres'),
    'psql',
    '-U',
    user(),
    '-d',
    'multimodal',
    '-tAc',
    sql,
  ]);

function cleanup() {
  removeProjectResources(project);
  rmSync(dir, { recursive: true, force: true });
}

try {
  stackctl(['start', env, '--stack', 'core', '--skip-preflight']);
  console.log(`\nbackup and restore: PostgreSQL with ${rows.toLocaleString()} rows`);
  psql(
    `create table bench as select g, md5(random()::text) || md5(random()::text) as a, md5(random()::text) as b, random() as c from generate_series(1, ${rows}) g`,
  );
  const dbBytes = Number(psql("select pg_database_size('multimodal')"));
  const mb = (bytes) => bytes / 1024 / 1024;
  console.log(`database size ${mb(dbBytes).toFixed(0)} MB`);

  // By hand: pg_dump in the container to a file on the host, pg_restore back from it.
  const dumpFile = join(dir, 'by-hand.dump');
  const byHandDump = timed(() =>
    run('sh', [
      '-c',
      `docker exec -u postgres ${container('postgres')} pg_dump --format=custom -U "$1" -d multimodal > "$2"`,
      'sh',
      user(),
      dumpFile,
    ]),
  );
  const dumpBytes = statSync(dumpFile).size;
  const byHandRestore = timed(() =>
    run('sh', [
      '-c',
      `docker exec -i -u postgres ${container('postgres')} pg_restore --single-transaction --exit-on-error --no-owner --clean --if-exists -U "$1" -d multimodal < "$2"`,
      'sh',
      user(),
      dumpFile,
    ]),
  );
  rmSync(dumpFile);

  const backup = stackctl(['backup', env, '--service', 'postgres', '--json']);
  const id = JSON.parse(backup.stdout).id;
  const restore = stackctl(['restore', env, '--from', id, '--service', 'postgres', '--yes']);

  const rate = (seconds) => `${(mb(dumpBytes) / seconds).toFixed(1)} MB/s`;
  console.log(`dump ${mb(dumpBytes).toFixed(0)} MB (custom format)`);
  console.log(
    `backup   stackctl ${backup.seconds.toFixed(1)} s (${rate(backup.seconds)}, peak ${backup.peakMb.toFixed(0)} MB)` +
      `  pg_dump by hand ${byHandDump.seconds.toFixed(1)} s (${rate(byHandDump.seconds)})  ratio ${(backup.seconds / byHandDump.seconds).toFixed(2)}x`,
  );
  console.log(
    `restore  stackctl ${restore.seconds.toFixed(1)} s (${rate(restore.seconds)}, peak ${restore.peakMb.toFixed(0)} MB)` +
      `  pg_restore by hand ${byHandRestore.seconds.toFixed(1)} s (${rate(byHandRestore.seconds)})  ratio ${(restore.seconds / byHandRestore.seconds).toFixed(2)}x` +
      ' (stackctl also verifies the dump first and waits until the database is healthy)',
  );

  // A volume copy: memory must not grow with the size.
  if (volumeGb > 0) {
    run('docker', [
      'exec',
      container('qdrant'),
      'sh',
      '-c',
      `dd if=/dev/urandom of=/qdrant/storage/blob bs=1M count=${Math.round(volumeGb * 1024)} 2>/dev/null`,
    ]);
    const volume = stackctl(['backup', env, '--service', 'qdrant', '--json', '--allow-stop']);
    const bytes = JSON.parse(volume.stdout).artifacts[0].bytes;
    console.log(
      `volume   ${mb(bytes).toFixed(0)} MB copied in ${volume.seconds.toFixed(1)} s (${(mb(bytes) / volume.seconds).toFixed(1)} MB/s), stackctl peak ${volume.peakMb.toFixed(0)} MB`,
    );
  }
} finally {
  cleanup();
}

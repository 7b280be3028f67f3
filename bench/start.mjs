// Time from `stackctl start` to all-healthy, against the physical limit of the test stack (db ready
// after 1 s, web 2 s after db: 3 s) and against `docker compose up -d --wait` on the same services
// with the seeds' healthchecks (30 s interval, no start_interval). Needs a Docker engine and the
// stackctl-test/busybox:1 image (.ci/build-test-images.sh).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.STACKCTL_BIN ?? join(root, 'bin', 'stackctl');
const runs = Number(process.env.BENCH_START_RUNS ?? 3);
const PHYSICAL_LIMIT_S = 3;

const dir = mkdtempSync(join(tmpdir(), 'stackctl-bench-start-'));
const project = `stkbench${process.pid}`;
mkdirSync(join(dir, 'schemas'));
writeFileSync(
  join(dir, 'schemas', 'compose-schema.yaml'),
  readFileSync(join(root, 'test', 'fixtures', 'stacks', 'app.yaml'), 'utf8')
    .replace('name: stktest', `name: ${project}`)
    .replace('default: 18080,', 'default: 18399,')
    .replaceAll('addressPool: 10.250.', 'addressPool: 10.248.'),
);

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
function cleanup() {
  for (const kind of [
    ['ps', '-aq'],
    ['network', 'ls', '-q'],
    ['volume', 'ls', '-q'],
  ]) {
    const ids = execFileSync('docker', [...kind, '--filter', `label=io.stackctl.project=${project}`], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
    if (ids.length === 0) continue;
    const remove = kind[0] === 'ps' ? ['rm', '-f'] : [kind[0], 'rm'];
    execFileSync('docker', [...remove, ...ids], { stdio: 'ignore' });
  }
}

try {
  const stackctlTimes = [];
  for (let i = 0; i < runs; i++) {
    cleanup();
    const start = process.hrtime.bigint();
    const result = spawnSync(bin, ['start', 'ok', '--skip-preflight'], { cwd: dir, stdio: 'ignore' });
    if (result.status !== 0) throw new Error(`stackctl start exited ${result.status}`);
    stackctlTimes.push(seconds(start));
  }
  cleanup();

  // The same generated files, with the seeds' healthchecks: no start_interval.
  const files = JSON.parse(execFileSync(bin, ['generate', 'ok', '--json'], { cwd: dir, encoding: 'utf8' }))
    .environments[0];
  for (const file of files.composeFiles) {
    const path = join(dir, file);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^\s+start_interval: .*\n/gm, ''));
  }
  const args = [
    'compose',
    '-p',
    `${project}-ok`,
    '--project-directory',
    dir,
    '--env-file',
    join(dir, files.envFile),
  ];
  for (const file of files.composeFiles) args.push('-f', join(dir, file));
  const start = process.hrtime.bigint();
  const compose = spawnSync('docker', [...args, 'up', '-d', '--wait', 'db', 'web', 'worker'], {
    stdio: 'ignore',
  });
  const composeTime = seconds(start);
  if (compose.status !== 0) throw new Error(`docker compose up --wait exited ${compose.status}`);

  const med = median(stackctlTimes);
  const ratio = med / PHYSICAL_LIMIT_S;
  console.log(`\nstart to all-healthy (test stack; slowest service ready after ${PHYSICAL_LIMIT_S} s)`);
  console.log(
    `  stackctl start                    median ${med.toFixed(2)} s over ${runs} runs (${ratio.toFixed(2)}× the limit; target ≤ 1.2×)`,
  );
  console.log(
    `  docker compose up -d --wait       ${composeTime.toFixed(2)} s (seeds' 30 s interval healthchecks)`,
  );
  console.log(
    `  ${ratio <= 1.2 && med < composeTime ? 'ok  ' : 'SLOW'} stackctl is ${(composeTime / med).toFixed(1)}× faster than compose's wait`,
  );
  process.exitCode = ratio <= 1.2 && med < composeTime ? 0 : 1;
} finally {
  cleanup();
  rmSync(dir, { recursive: true, force: true });
}

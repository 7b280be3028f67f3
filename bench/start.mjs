// Time from `stackctl start` to all-healthy for the test stack (db ready 1 s after it starts, web
// 2 s after db: 3 s of delays), against the engine floor (the same containers started and checked
// with nothing in between) and against `docker compose up -d --wait` on the same services with the
// seeds' healthchecks (30 s interval, no start_interval). Needs a Docker engine and the
// stackctl-test/busybox:1 image (.ci/build-test-images.sh).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeProjectResources } from './docker-cleanup.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.STACKCTL_BIN ?? join(root, 'bin', 'stackctl');
const runs = Number(process.env.BENCH_START_RUNS ?? 3);
const DELAYS_S = 3;
/** start's default --settle: how long every service must stay up after the last became ready. */
const SETTLE_S = 3;

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

// Measured as users run it: with a user overlay present (compose reads it last).
mkdirSync(join(dir, 'compose'));
writeFileSync(
  join(dir, 'compose', 'local.override.yml'),
  'services:\n  db:\n    labels:\n      io.stackctl.bench-overlay: present\n',
);

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
function cleanup() {
  removeProjectResources(project);
}

// What the engine itself needs, with no tool in the way: the same containers, already created,
// started through the Docker API the moment what they wait for is ready, readiness checked back to
// back. No tool can beat this; it is the floor under the delays.
async function engineFloor(composeArgs) {
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  const created = spawnSync(
    'docker',
    [...composeArgs, 'up', '--no-start', 'db', 'migrate', 'web', 'worker'],
    {
      stdio: 'ignore',
    },
  );
  if (created.status !== 0) throw new Error('docker compose up --no-start failed');
  const container = async (service) => {
    const [entry] = await docker.listContainers({
      all: true,
      filters: {
        label: [`com.docker.compose.project=${project}-ok`, `com.docker.compose.service=${service}`],
      },
    });
    return docker.getContainer(entry.Id);
  };
  const passes = async (target, cmd) => {
    const exec = await target.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise((resolve) => stream.on('end', resolve).on('error', resolve).resume());
    return (await exec.inspect()).ExitCode === 0;
  };
  const until = async (check) => {
    while (!(await check())) {
      // Checked back to back: each check is an exec round trip of a few tens of milliseconds.
    }
  };
  const [db, migrate, web, worker] = await Promise.all(['db', 'migrate', 'web', 'worker'].map(container));
  const start = process.hrtime.bigint();
  await db.start();
  await until(() => passes(db, ['test', '-f', '/tmp/ready']));
  await Promise.all([migrate.start(), web.start(), worker.start()]);
  await Promise.all([
    until(() => passes(web, ['wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'])),
    migrate.wait(),
  ]);
  return seconds(start);
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
  const floorTimes = [];
  for (let i = 0; i < runs; i++) {
    cleanup();
    floorTimes.push(await engineFloor(args));
  }
  cleanup();

  const start = process.hrtime.bigint();
  const compose = spawnSync('docker', [...args, 'up', '-d', '--wait', 'db', 'web', 'worker'], {
    stdio: 'ignore',
  });
  const composeTime = seconds(start);
  if (compose.status !== 0) throw new Error(`docker compose up --wait exited ${compose.status}`);

  const med = median(stackctlTimes);
  const floor = median(floorTimes);
  const ratio = med / DELAYS_S;
  // start also watches every service for SETTLE_S after the last became ready (a service that passes
  // its healthcheck and dies at once is a failure, not "up"); the floor checks no such thing, so the
  // bar is 1.2× the engine floor plus that window. Both ratios are reported.
  const settled = floor + SETTLE_S;
  const ok = med <= 1.2 * settled && med < composeTime;
  console.log(
    `\nstart to all-healthy (test stack: db ready 1 s after start, web 2 s after db: ${DELAYS_S} s of delays)`,
  );
  console.log(
    `  stackctl start                    median ${med.toFixed(2)} s over ${runs} runs (${ratio.toFixed(2)}× the delays)`,
  );
  console.log(
    `  engine floor                      median ${floor.toFixed(2)} s (${(floor / DELAYS_S).toFixed(2)}× the delays: containers already created, started through the API, checked back to back)`,
  );
  console.log(
    `  docker compose up -d --wait       ${composeTime.toFixed(2)} s (the seeds' 30 s interval healthchecks)`,
  );
  console.log(
    `  ${ok ? 'ok  ' : 'SLOW'} stackctl is ${(med / settled).toFixed(2)}× the engine floor plus its ${SETTLE_S} s stability window (target ≤ 1.2×; ${(med - settled).toFixed(2)} s for process start, generate and compose), ${(med / floor).toFixed(2)}× the bare floor, and ${(composeTime / med).toFixed(1)}× faster than compose's wait`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  cleanup();
  rmSync(dir, { recursive: true, force: true });
}

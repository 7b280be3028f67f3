// Start to all-ready for the shipped environments, against the engine floor measured in the same run.
//
// Every image of the environment is swapped, through the user overlay compose/local.override.yml as a
// user would, for stackctl-test/busybox:1 running a service that becomes ready a known 1-4 s after it
// starts (it touches /tmp/ready and prints READY; its healthcheck tests the file, with the shipped
// timings). No one here chose the delays per service: they come from a hash of the service's name.
//
// - engine floor: the same containers, created beforehand, each started through the Docker API the
//   moment everything it waits for is ready (its depends_on, and every service of the stacks its stack
//   depends on), readiness known exactly (the READY line on the attached output) instead of polled.
// - stackctl start ENV --gpu cpu --settle 0, preflight included, after `stackctl stop` (its containers
//   created beforehand, as the floor's are: the target compares these), and from nothing (networks
//   and containers created too). The floor checks no stability, so neither do these runs; the default
//   3 s stability window is reported beside them.
// - docker compose up -d --wait, stack after stack: what the replaced scripts did, done right.
//
// Needs a Docker engine and stackctl-test/busybox:1 (.ci/build-test-images.sh).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { parse } from 'yaml';
import { removeProjectResources } from './docker-cleanup.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.STACKCTL_BIN ?? join(root, 'bin', 'stackctl');
const runs = Number(process.env.BENCH_GRAPH_RUNS ?? 3);
const environments = (process.env.BENCH_GRAPH_ENVS ?? 'development,production').split(',');
const TARGET = 1.1;
const project = `stkgraph${process.pid}`;
const docker = new Docker();

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
/** 1.0 to 4.0 s, fixed per service name. */
const delayOf = (service) => 1 + (createHash('sha256').update(service).digest()[0] % 31) / 10;

const dir = process.env.BENCH_GRAPH_DIR ?? mkdtempSync(join(tmpdir(), 'stackctl-bench-graph-'));
mkdirSync(dir, { recursive: true });
const schemaText = readFileSync(join(root, 'schemas', 'compose-schema.yaml'), 'utf8');
const schema = parse(schemaText);
mkdirSync(join(dir, 'schemas'));
// The project's own name; addresses away from the test suites'; memory minimums this machine has.
writeFileSync(
  join(dir, 'schemas', 'compose-schema.yaml'),
  schemaText
    .replace(/^(project:\n {2}name: ).*$/m, `$1${project}`)
    .replaceAll('addressPool: 10.30.', 'addressPool: 10.237.')
    .replace(/memoryMinimumGb: \d+/g, 'memoryMinimumGb: 1'),
);
cpSync(join(root, 'env-templates'), join(dir, 'env-templates'), { recursive: true });
// Build contexts and mounted folders the services name (the overlay replaces the images).
for (const service of Object.values(schema.services)) {
  const context = typeof service.build === 'string' ? service.build : service.build?.context;
  if (context) mkdirSync(join(dir, context), { recursive: true });
  for (const volume of service.volumes ?? []) {
    const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
    if (source?.startsWith('./') && !source.includes('${')) mkdirSync(join(dir, source), { recursive: true });
  }
}
/** The user overlay; without start_interval, Docker itself checks only once an interval (30 s). */
function writeOverlay({ startInterval }) {
  const lines = [
    '# Written by bench/start-graph.mjs: every service ready a known 1-4 s after it starts.',
    'services:',
  ];
  for (const [name, service] of Object.entries(schema.services)) {
    lines.push(
      `  ${name}:`,
      // A bind mount with propagation (the node exporter's view of /) needs / to be a shared mount,
      // which an engine inside a container does not have; the stand-in reads nothing of the host.
      ...(hasPropagation(service) ? ['    volumes: !reset []'] : []),
      '    image: stackctl-test/busybox:1',
      '    build: !reset null',
      '    entrypoint: !reset null',
      '    user: !reset null',
      '    read_only: false',
      '    init: true',
      `    command: ['sh', '-c', 'rm -f /tmp/ready; sleep ${delayOf(name)}; touch /tmp/ready; echo READY; exec sleep 86400']`,
      '    healthcheck:',
      "      test: ['CMD', 'test', '-f', '/tmp/ready']",
      '      disable: false',
      ...(startInterval ? [] : ['      start_interval: !reset null']),
    );
  }
  writeFileSync(join(dir, 'compose', 'local.override.yml'), `${lines.join('\n')}\n`);
}
function hasPropagation(service) {
  return (service.volumes ?? []).some((volume) =>
    typeof volume === 'string'
      ? /:(?:[^:]*,)?r?(?:shared|slave|private)(?:,|$)/.test(volume)
      : volume.bind?.propagation !== undefined,
  );
}
mkdirSync(join(dir, 'compose'), { recursive: true });
writeOverlay({ startInterval: true });

const stackctl = (args, options = {}) =>
  spawnSync(bin, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, ...options });
const cleanup = () => removeProjectResources(project);

/** The compose arguments start uses (from its dry run: generated files, the overlay last), and its services. */
function startPlanOf(env) {
  const planned = stackctl(['start', env, '--gpu', 'cpu', '--dry-run', '--json']);
  const plan = JSON.parse(planned.stdout);
  const command = plan.create[0].command;
  return { args: command.slice(2, command.indexOf('up')), services: plan.graph.map((node) => node.service) };
}

/** What each service waits for: its depends_on (as compose resolved it) and its stack's dependencies. */
function waitGraph(args, services) {
  const config = JSON.parse(
    execFileSync('docker', ['compose', ...args, 'config', '--format', 'json', ...services]),
  );
  const closure = (stack, seen = new Set()) => {
    for (const dep of schema.stacks[stack]?.dependsOn ?? []) {
      if (!seen.has(dep)) closure(dep, seen.add(dep));
    }
    return seen;
  };
  const stackOf = (service) => schema.services[service].stack;
  return {
    config,
    graph: Object.fromEntries(
      services.map((service) => {
        const own = Object.entries(config.services[service].depends_on ?? {})
          .filter(([dep]) => services.includes(dep))
          .map(([dep, options]) => ({
            service: dep,
            started: options.condition === 'service_started',
          }));
        const before = closure(stackOf(service));
        const barrier = services
          .filter((other) => before.has(stackOf(other)))
          .map((other) => ({ service: other, started: false }));
        return [service, [...own, ...barrier]];
      }),
    ),
  };
}

async function engineFloor(args, graph) {
  execFileSync('docker', ['compose', ...args, 'up', '--no-start', ...Object.keys(graph)], {
    stdio: 'ignore',
  });
  const listed = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${args[1]}`] },
  });
  const containers = new Map();
  for (const entry of listed) {
    const service = entry.Labels['com.docker.compose.service'];
    containers.set(service, [...(containers.get(service) ?? []), docker.getContainer(entry.Id)]);
  }
  // Each container's output from its first byte (logs since 0, followed): READY is seen as printed.
  const readyLine = async (container) => {
    const stream = await container.logs({ follow: true, stdout: true, stderr: true, since: 0 });
    await new Promise((resolve) => {
      let seen = '';
      stream.on('data', (chunk) => {
        seen += chunk.toString('latin1');
        if (seen.includes('READY')) {
          stream.destroy();
          resolve();
        }
      });
    });
  };
  const readyPromises = new Map();
  const started = new Map();
  const ready = new Map();
  const t0 = process.hrtime.bigint();
  const launch = (service) => {
    if (started.has(service)) return started.get(service);
    const run = (async () => {
      await Promise.all(
        graph[service].map((dep) => (dep.started ? launch(dep.service) : readyOf(dep.service))),
      );
      const list = containers.get(service);
      await Promise.all(list.map((container) => container.start()));
      readyPromises.set(service, Promise.all(list.map(readyLine)));
    })();
    started.set(service, run);
    return run;
  };
  const readyOf = (service) => {
    if (!ready.has(service))
      ready.set(
        service,
        launch(service).then(() => readyPromises.get(service)),
      );
    return ready.get(service);
  };
  const timeout = new Promise((_, reject) =>
    setTimeout(
      () => reject(new Error('engine floor: not every service printed READY within 120 s')),
      120_000,
    ).unref(),
  );
  await Promise.race([Promise.all(Object.keys(graph).map(readyOf)), timeout]);
  return seconds(t0);
}

function composeWait(args, services) {
  const stacks = [];
  for (const service of services) {
    const stack = schema.services[service].stack;
    if (!stacks.includes(stack)) stacks.push(stack);
  }
  const stackOrder = Object.keys(schema.stacks).filter((stack) => stacks.includes(stack));
  const t0 = process.hrtime.bigint();
  for (const stack of stackOrder) {
    const chosen = services.filter((s) => schema.services[s].stack === stack);
    const result = spawnSync('docker', ['compose', ...args, 'up', '-d', '--wait', ...chosen], {
      stdio: 'ignore',
    });
    if (result.status !== 0) throw new Error(`docker compose up --wait (${stack}) exited ${result.status}`);
  }
  return seconds(t0);
}

/**
 * Runs start, from nothing by default (no containers, networks or volumes), or from the containers a
 * stop left (created beforehand, as the floor's are); returns its wall time and, per service, how
 * late it saw readiness.
 */
function timeStart(env, extra, { fromStopped = false } = {}) {
  if (fromStopped) {
    const stopped = stackctl(['stop', env]);
    if (stopped.status !== 0) throw new Error(`stackctl stop ${env} exited ${stopped.status}`);
  } else cleanup();
  const t0 = process.hrtime.bigint();
  const result = stackctl(['start', env, '--gpu', 'cpu', '--json', ...extra]);
  const took = seconds(t0);
  if (result.status !== 0)
    throw new Error(`stackctl start ${env} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return { took, lateness: readinessLateness(JSON.parse(result.stdout)) };
}

/**
 * For each service: from the moment it was ready (its READY line, timestamped by Docker) to the
 * moment stackctl saw it ready (readyAt in its report), in milliseconds.
 */
function readinessLateness(report) {
  return report.services.flatMap((service) => {
    if (service.readyAt === null) return [];
    const container = `${report.project}-${service.name}-1`;
    const logs = spawnSync('docker', ['logs', '--timestamps', container], { encoding: 'utf8' }).stdout;
    // The last one: a container started again after a stop printed one in each run.
    const line = logs
      .split('\n')
      .filter((entry) => entry.endsWith(' READY'))
      .at(-1);
    if (!line) return [];
    return [Date.parse(service.readyAt) - Date.parse(line.split(' ')[0])];
  });
}

let failed = false;
if (process.env.BENCH_GRAPH_SETUP_ONLY === '1') {
  console.log(`project in ${dir}`);
  process.exit(0);
}
try {
  console.log(
    `\nstart to all-ready, shipped environments, every service ready 1-4 s after it starts (median of ${runs})`,
  );
  for (const env of environments) {
    timeStart(env, ['--settle', '0']); // warm-up: generates the files and secrets
    const { args, services } = startPlanOf(env);
    const { graph } = waitGraph(args, services);
    const count = Object.keys(graph).length;
    const floors = [];
    const starts = [];
    const restarts = [];
    const lateness = [];
    for (let i = 0; i < runs; i++) {
      cleanup();
      floors.push(await engineFloor(args, graph));
      const run = timeStart(env, ['--settle', '0']);
      starts.push(run.took);
      lateness.push(...run.lateness);
      const again = timeStart(env, ['--settle', '0'], { fromStopped: true });
      restarts.push(again.took);
      lateness.push(...again.lateness);
    }
    const settled = timeStart(env, []).took;
    writeOverlay({ startInterval: false });
    const legacy = timeStart(env, ['--settle', '0']);
    writeOverlay({ startInterval: true });
    cleanup();
    const composeTime = composeWait(args, services);
    cleanup();
    const floor = median(floors);
    const start = median(starts);
    const restart = median(restarts);
    // Like for like: the floor's containers exist before it starts, as they do after a stop.
    const ratio = restart / floor;
    const ok = ratio <= TARGET;
    failed ||= !ok;
    console.log(`  ${env} (${count} services)`);
    console.log(`    engine floor (containers created)      ${floor.toFixed(2)} s`);
    console.log(
      `    ${ok ? 'ok  ' : 'SLOW'} stackctl start --settle 0, after stop ${restart.toFixed(2)} s  ${ratio.toFixed(2)}x the floor (target <= ${TARGET}x)`,
    );
    console.log(
      `         stackctl start --settle 0, from nothing ${start.toFixed(2)} s  ${(start / floor).toFixed(2)}x (creates networks and containers)`,
    );
    console.log(
      `         stackctl start (3 s settle)        ${settled.toFixed(2)} s  ${(settled / floor).toFixed(2)}x (one run)`,
    );
    console.log(
      `         compose up -d --wait, stack by stack ${composeTime.toFixed(2)} s  ${(composeTime / floor).toFixed(2)}x (one run)`,
    );
    const late = median(lateness);
    const lateOk = late <= 100;
    failed ||= !lateOk;
    console.log(
      `    ${lateOk ? 'ok  ' : 'SLOW'} readiness seen ${late.toFixed(0)} ms after it happened (median of ${lateness.length} services; target <= 100 ms)`,
    );
    console.log(
      `         without start_interval (Docker checks every 30 s): ${legacy.took.toFixed(2)} s, readiness seen ${median(legacy.lateness).toFixed(0)} ms late (one run)`,
    );
  }
} finally {
  cleanup();
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

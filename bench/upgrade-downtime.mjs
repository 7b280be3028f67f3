// Downtime per service during `stackctl upgrade`, measured from the outside by clients that keep
// asking while the new image rolls out: web (publishes a host port: stop-first) from this host
// through its published port, api (no port: start-first) from a client container on the stack's
// network through its service name, as the services that call it do. Each client sends a request
// every 20 ms (busybox's wget -T crashes, so the network client waits as long as a refused
// connection takes); the bench prints requests, failed requests and the longest run of failures, beside
// the downtime stackctl itself recorded in the release.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeProjectResources } from './docker-cleanup.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.STACKCTL_BIN ?? join(root, 'bin', 'stackctl');
const project = `upbench${process.pid}`;
const env = 'ok';
const image = `${project}-app:1`;
const webPort = 23000 + (process.pid % 1000);

const dir = mkdtempSync(join(tmpdir(), 'stackctl-bench-upgrade-'));
const stackctl = (...args) => {
  const result = spawnSync(bin, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (result.status !== 0) throw new Error(`stackctl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};

function runAsync(...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: dir, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`stackctl ${args.join(' ')} exited ${code}`)),
    );
  });
}

function build(version) {
  const context = mkdtempSync(join(tmpdir(), 'stackctl-bench-image-'));
  writeFileSync(
    join(context, 'Dockerfile'),
    `FROM stackctl-test/busybox:1\nRUN echo "ok ${version}" > /var/www/index.html\n`,
  );
  execFileSync('docker', ['build', '-q', '-t', image, context], { stdio: 'ignore' });
  rmSync(context, { recursive: true, force: true });
}

/** A loop of requests every 20 ms until stopped; counts answers and failures, and the longest gap. */
function hostClient(url) {
  const stats = { requests: 0, failed: 0, longestGapMs: 0 };
  let failingSince;
  let running = true;
  const loop = async () => {
    while (running) {
      const at = Date.now();
      const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
        (response) => response.ok,
        () => false,
      );
      stats.requests += 1;
      if (ok) {
        if (failingSince !== undefined)
          stats.longestGapMs = Math.max(stats.longestGapMs, Date.now() - failingSince);
        failingSince = undefined;
      } else {
        stats.failed += 1;
        failingSince ??= at;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const done = loop();
  return {
    stop: async () => {
      running = false;
      await done;
      return stats;
    },
  };
}

/** The same loop inside a container on the stack's network, asking a service by its name. */
function networkClient(network, url) {
  const script = `ok=0; bad=0; while [ ! -f /tmp/stop ]; do if wget -q -O /dev/null ${url}; then ok=$((ok+1)); else bad=$((bad+1)); fi; sleep 0.02; done; echo "$ok $bad"`;
  const name = `${project}-client`;
  const child = spawn('docker', [
    'run',
    '--rm',
    '--name',
    name,
    '--network',
    network,
    'stackctl-test/busybox:1',
    'sh',
    '-c',
    script,
  ]);
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  return {
    stop: async () => {
      spawnSync('docker', ['exec', name, 'touch', '/tmp/stop']);
      await new Promise((resolve) => child.on('close', resolve));
      const [ok, bad] = out.trim().split(' ').map(Number);
      return { requests: ok + bad, failed: bad, longestGapMs: undefined };
    },
  };
}

try {
  mkdirSync(join(dir, 'schemas'));
  mkdirSync(join(dir, 'compose'));
  writeFileSync(
    join(dir, 'schemas', 'compose-schema.yaml'),
    readFileSync(join(root, 'test', 'fixtures', 'stacks', 'app.yaml'), 'utf8')
      .replace('name: stktest', `name: ${project}`)
      .replace('default: 18080,', `default: ${webPort},`)
      .replaceAll('addressPool: 10.250.', 'addressPool: 10.234.')
      .replace(/( {2}web:\n {4}stack: app\n {4}image: )stackctl-test\/busybox:1/, `$1${image}`)
      // api answers HTTP on 8080 without publishing it: start-first.
      .replace(
        /( {2}api:\n {4}stack: app\n {4}image: )stackctl-test\/busybox:1\n {4}init: true\n {4}command: \['sleep', '3600'\]/,
        `$1${image}\n    init: true\n    command: ['httpd', '-f', '-p', '8080', '-h', '/var/www']\n    healthcheck: { template: quick, test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'] }`,
      )
      .replace('    services: [db, migrate, web, worker]', '    services: [db, web, seed, api]'),
  );
  writeFileSync(join(dir, 'compose', 'local.override.yml'), 'services:\n  db:\n    pull_policy: never\n');
  build('v1');
  stackctl('start', env, '--skip-preflight');
  build('v2');
  const web = hostClient(`http://127.0.0.1:${webPort}/`);
  const api = networkClient(`${project}-${env}_app-net`, 'http://api:8080/');
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const started = Date.now();
  // Not spawnSync: the host client runs on this process's event loop meanwhile.
  await runAsync('upgrade', env, '--yes', '--no-snapshot', '--settle', '3s');
  const upgradeMs = Date.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const [webStats, apiStats] = [await web.stop(), await api.stop()];
  const [record] = JSON.parse(stackctl('releases', env, '--json')).slice(-1);
  const strategy = Object.fromEntries(record.plan.map((step) => [step.service, step.strategy]));
  console.log(`\nupgrade downtime (one rollout of a new image, ${(upgradeMs / 1000).toFixed(1)} s in all):`);
  for (const [service, stats] of [
    ['web', webStats],
    ['api', apiStats],
  ]) {
    const gap = stats.longestGapMs === undefined ? '' : `, longest failing run ${stats.longestGapMs} ms`;
    console.log(
      `  ${service.padEnd(4)} ${String(strategy[service]).padEnd(11)} recorded downtime ${String(record.downtimeMs[service]).padStart(5)} ms; ` +
        `${stats.failed} of ${stats.requests} requests failed${gap}`,
    );
  }
  if (apiStats.failed > 0) {
    console.log('  FAIL a start-first service lost requests');
    process.exitCode = 1;
  }
} finally {
  spawnSync('docker', ['rm', '-f', `${project}-client`], { stdio: 'ignore' });
  removeProjectResources(project);
  spawnSync('docker', ['rmi', '-f', image], { stdio: 'ignore' });
  spawnSync(
    'sh',
    [
      '-c',
      `docker images --format '{{.Repository}}:{{.Tag}}' | grep '^stackctl-rollback/${project}' | xargs -r docker rmi`,
    ],
    {
      stdio: 'ignore',
    },
  );
  rmSync(dir, { recursive: true, force: true });
}

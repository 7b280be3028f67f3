// stackctl top's first screen: milliseconds from starting the process on a terminal (script(1)
// gives it a pseudo-terminal) to the first frame that lists a running container, against a running
// environment of 4 services. Each run is a fresh process; the median is compared with the target.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './paired.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.STACKCTL_BIN ?? join(root, 'bin', 'stackctl');
const runs = Number(process.env.BENCH_RUNS ?? 9);
const TARGET_MS = 300;
const name = `benchtop${process.pid}`;

const dir = mkdtempSync(join(tmpdir(), 'stackctl-bench-top-'));
mkdirSync(join(dir, 'schemas'));
writeFileSync(
  join(dir, 'schemas', 'compose-schema.yaml'),
  readFileSync(join(root, 'test', 'fixtures', 'stacks', 'app.yaml'), 'utf8')
    .replace('name: stktest', `name: ${name}`)
    .replace('default: 18080,', 'default: 18228,')
    .replaceAll('addressPool: 10.250.', 'addressPool: 10.228.'),
);

/** One run: ms until the screen shows a running container, then q. */
function firstScreen() {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('script', ['-qfec', `stty cols 100 rows 30; exec ${bin} top ok`, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let seen = '';
    let ms;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no first screen in 10 s; the terminal showed:\n${seen}`));
    }, 10_000);
    child.stdout.on('data', (chunk) => {
      seen += chunk.toString('utf8');
      if (ms === undefined && /db-1\s+running/.test(seen)) {
        ms = Number(process.hrtime.bigint() - started) / 1e6;
        child.stdin.write('q');
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (ms === undefined) reject(new Error(`top ended before its first screen:\n${seen}`));
      else resolve(ms);
    });
  });
}

let failed = false;
try {
  const started = spawnSync(bin, ['start', 'ok', '--skip-preflight'], { cwd: dir, stdio: 'ignore' });
  if (started.status !== 0) throw new Error('stackctl start ok failed');
  await firstScreen();
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await firstScreen());
  const med = median(times);
  failed = med > TARGET_MS;
  console.log(
    `\nstackctl top, first screen listing the containers (a pseudo-terminal, 4 services, median of ${runs})`,
  );
  console.log(
    `${failed ? 'SLOW' : 'ok  '} ${'node bin/stackctl top'.padEnd(34)} ${med.toFixed(0).padStart(4)} ms  min ${Math.min(...times).toFixed(0)} ms  target < ${TARGET_MS} ms`,
  );
} finally {
  for (const kind of [
    ['ps', '-aq'],
    ['network', 'ls', '-q'],
    ['volume', 'ls', '-q'],
  ]) {
    const ids = spawnSync('docker', [...kind, '--filter', `label=io.stackctl.project=${name}`], {
      encoding: 'utf8',
    })
      .stdout.split('\n')
      .filter(Boolean);
    const remove = kind[0] === 'ps' ? ['rm', '-f'] : [kind[0], 'rm'];
    if (ids.length > 0) spawnSync('docker', [...remove, ...ids], { stdio: 'ignore' });
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

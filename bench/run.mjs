// Cold-start wall time of stackctl commands: each run is a fresh process, as a user or CI sees it.
// Prints the median of several runs and compares it with the target.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
];

function timeOnce(args, allowExit = [0]) {
  const start = process.hrtime.bigint();
  const result = spawnSync(bin, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
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
for (const { name, args, targetMs, allowExit } of cases) {
  timeOnce(args, allowExit);
  const times = Array.from({ length: runs }, () => timeOnce(args, allowExit));
  const med = median(times);
  const ok = med <= targetMs;
  failed ||= !ok;
  console.log(
    `${ok ? 'ok  ' : 'SLOW'} ${name.padEnd(36)} median ${med.toFixed(0).padStart(4)} ms  ` +
      `min ${Math.min(...times)
        .toFixed(0)
        .padStart(4)} ms  target < ${targetMs} ms`,
  );
}
process.exitCode = failed ? 1 : 0;

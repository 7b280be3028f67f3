// Paired timing: the command and its floor run one after the other, many times, and the ratio is the
// median of the per-pair ratios. Pairs cancel the machine's drift (another process, CPU frequency)
// that separate medians of separate series would fold into the ratio.
import { spawnSync } from 'node:child_process';

// Node 20 reads and parses every certificate NODE_EXTRA_CA_CERTS names before it runs any code
// (about 55 ms with Debian's bundle): a fixed cost on both sides of a ratio that would hide most of
// what stackctl itself costs. Every run here is without it, as on a machine that does not set it.
delete process.env.NODE_EXTRA_CA_CERTS;

export function timeOnce(command, args, cwd, allowExit = [0]) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (!allowExit.includes(result.status))
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}`);
  return ms;
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** { ms, floorMs, ratio }: medians of each, and the median of the paired ratios. */
export function paired(command, floor, { runs, cwd, allowExit }) {
  timeOnce(...command, cwd, allowExit);
  timeOnce(...floor, cwd);
  const times = [];
  const floors = [];
  const ratios = [];
  for (let i = 0; i < runs; i++) {
    const ms = timeOnce(...command, cwd, allowExit);
    const floorMs = timeOnce(...floor, cwd);
    times.push(ms);
    floors.push(floorMs);
    ratios.push(ms / floorMs);
  }
  return { ms: median(times), floorMs: median(floors), ratio: median(ratios) };
}

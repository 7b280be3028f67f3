// What the GPUs are doing now, from nvidia-smi's default table (one call gives every card and every
// process): per card utilisation, memory, temperature and power; per process its PID and the GPU
// memory it holds. Tested on real tables from drivers 375 to 610.
import { cleanLines } from '../text.js';
import { parseSmiTable } from './table.js';

export interface GpuUsage {
  readonly index: number;
  readonly name: string;
  readonly utilizationPercent: number | null;
  readonly memoryUsedMiB: number | null;
  readonly memoryTotalMiB: number | null;
  readonly temperatureC: number | null;
  readonly powerW: number | null;
}

export interface GpuProcess {
  readonly gpu: number;
  readonly pid: number;
  readonly name: string;
  /** Null where the driver says N/A (Windows WDDM). */
  readonly memoryMiB: number | null;
}

// | N/A   52C    P0    71W / 149W |  10764MiB / 11441MiB |      0%      Default |
const USAGE_ROW =
  /^\|\s*(?:\S+)\s+(\d+)C\s+P\d+\s+(?:(\d+(?:\.\d+)?)W|N\/A)\s*\/\s*\S+\s*\|[^|]*\|\s*(?:(\d+)%|N\/A)/;

export function parseSmiUsage(text: string): GpuUsage[] {
  const cards = parseSmiTable(text);
  const lines = cleanLines(text);
  const usage: { temperatureC: number | null; powerW: number | null; utilizationPercent: number | null }[] =
    [];
  for (const line of lines) {
    if (/^\|\s*(MIG devices|Processes):/.test(line)) break;
    const match = USAGE_ROW.exec(line);
    if (!match) continue;
    usage.push({
      temperatureC: Number(match[1]),
      powerW: match[2] === undefined ? null : Number(match[2]),
      utilizationPercent: match[3] === undefined ? null : Number(match[3]),
    });
  }
  return cards.map((card, i) => ({
    index: card.index,
    name: card.name,
    memoryUsedMiB: card.memoryUsedMiB,
    memoryTotalMiB: card.memoryTotalMiB,
    temperatureC: usage[i]?.temperatureC ?? null,
    powerW: usage[i]?.powerW ?? null,
    utilizationPercent: usage[i]?.utilizationPercent ?? null,
  }));
}

// |    0   N/A  N/A     15973      C   python                          10759MiB |
// |    0      1959    G   /usr/lib/xorg/Xorg                              15MiB |   (driver 375: no GI/CI)
const PROCESS_ROW =
  /^\|\s+(\d+)\s+(?:(?:N\/A|\d+)\s+(?:N\/A|\d+)\s+)?(\d+)\s+(C\+G|C|G)\s+(.+?)\s+(?:(\d+)MiB|N\/A)\s*\|$/;

/** The processes section: which process holds how much memory on which card. */
export function parseSmiProcesses(text: string): GpuProcess[] {
  const lines = cleanLines(text);
  const start = lines.findIndex((line) => /^\|\s*Processes:/.test(line));
  if (start < 0) return [];
  const processes: GpuProcess[] = [];
  for (const line of lines.slice(start + 1)) {
    const match = PROCESS_ROW.exec(line.trimEnd());
    if (!match) continue;
    processes.push({
      gpu: Number(match[1]),
      pid: Number(match[2]),
      name: match[4] ?? '',
      memoryMiB: match[5] === undefined ? null : Number(match[5]),
    });
  }
  return processes;
}

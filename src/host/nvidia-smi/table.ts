import { cleanLines } from '../text.js';

/** One GPU's row in `nvidia-smi`'s default table: what it has and what is already in use. */
export interface GpuMemoryRow {
  readonly index: number;
  readonly name: string;
  /** Null where the driver says "Not Supported" (unified-memory systems such as GB10). */
  readonly memoryUsedMiB: number | null;
  readonly memoryTotalMiB: number | null;
}

// |   0  NVIDIA GeForce RTX 3090        On  |   00000000:41:00.0 Off |                  N/A |
const GPU_ROW = /^\|\s+(\d+)\s+(.+?)\s+(?:On|Off)\s*\|/;
// | 30%   30C    P8             30W /  350W |       2MiB /  24576MiB |      0%      Default |
const MEMORY_CELL = /\|\s*(\d+)MiB\s*\/\s*(\d+)MiB\s*\|/;

/**
 * The GPUs of `nvidia-smi`'s default table (any driver from 375 on), with the memory each already
 * holds. MIG instances and the process list that follow the GPU rows are not GPUs and are left out.
 */
export function parseSmiTable(text: string): GpuMemoryRow[] {
  const lines = cleanLines(text);
  const rows: GpuMemoryRow[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    if (/^\|\s*(MIG devices|Processes):/.test(line)) break;
    const gpu = GPU_ROW.exec(line);
    if (!gpu) continue;
    const next = lines[i + 1] ?? '';
    const memory = MEMORY_CELL.exec(next);
    rows.push({
      index: Number(gpu[1]),
      name: gpu[2] ?? '',
      memoryUsedMiB: memory ? Number(memory[1]) : null,
      memoryTotalMiB: memory ? Number(memory[2]) : null,
    });
  }
  return rows;
}

// nvidia-smi's default table: the memory each GPU already holds, on real outputs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSmiTable } from '../../src/host/nvidia-smi/table.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const table = (name: string) => readFile(join(HOST_FIXTURES, 'nvidia-smi', name), 'utf8');

describe('parseSmiTable', () => {
  it('reads both RTX 3090s of the seeds workstation with their used and total memory', async () => {
    expect(parseSmiTable(await table('smi-table-2x3090-driver560-01.txt'))).toEqual([
      { index: 0, name: 'NVIDIA GeForce RTX 3090', memoryUsedMiB: 2, memoryTotalMiB: 24576 },
      { index: 1, name: 'NVIDIA GeForce RTX 3090', memoryUsedMiB: 2, memoryTotalMiB: 24576 },
    ]);
  });

  it('reads eight cards, the 2017 layout (driver 375), and stops before MIG instances', async () => {
    const eight = parseSmiTable(await table('smi-table-8x4090-driver550-01.txt'));
    expect(eight.map((gpu) => gpu.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(eight[0]).toMatchObject({ name: 'NVIDIA GeForce RTX 4090', memoryTotalMiB: 24564 });
    const k80 = parseSmiTable(await table('smi-table-4xk80-driver375-01.txt'));
    expect(k80[0]).toEqual({ index: 0, name: 'Tesla K80', memoryUsedMiB: 15, memoryTotalMiB: 11439 });
    const mig = parseSmiTable(await table('smi-table-1xh100-mig-4-instances-driver590-01.txt'));
    expect(mig).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryUsedMiB: 59, memoryTotalMiB: 81559 },
    ]);
  });

  it('says unknown where the driver does not report memory (GB10)', async () => {
    expect(
      parseSmiTable(await table('smi-table-1xgb10-dgx-spark-memory-not-supported-partial-01.txt')),
    ).toEqual([{ index: 0, name: 'NVIDIA GB10', memoryUsedMiB: null, memoryTotalMiB: null }]);
  });
});

// nvidia-smi topo -p2p matrices, on real outputs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseP2pMatrix } from '../../src/host/nvidia-smi/p2p.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const matrix = async (name: string) =>
  parseP2pMatrix(await readFile(join(HOST_FIXTURES, 'nvidia-smi', name), 'utf8'));

describe('parseP2pMatrix', () => {
  it('reads two RTX 3090s with a P2P-patched driver as OK, tabs and legend around it', async () => {
    expect(await matrix('topo-p2p-2x3090-ok-patched-01.txt')).toEqual([{ a: 0, b: 1, status: 'OK' }]);
  });

  it('reads chipset-not-supported, a 4-GPU OK/NS mix, and a K80 matrix with ANSI escapes', async () => {
    expect(await matrix('topo-p2p-2xl4-cns-01.txt')).toEqual([{ a: 0, b: 1, status: 'CNS' }]);
    const four = await matrix('topo-p2p-4gpu-ok-ns-pkb-01.txt');
    expect(four).toHaveLength(6);
    expect(four.filter((cell) => cell.status === 'OK')).toEqual([
      { a: 0, b: 1, status: 'OK' },
      { a: 2, b: 3, status: 'OK' },
    ]);
    expect(await matrix('topo-p2p-1xk80-ansi-escapes-01.txt')).toEqual([]);
  });

  it('gives nothing for what is not a matrix', () => {
    expect(parseP2pMatrix('')).toEqual([]);
    expect(
      parseP2pMatrix("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."),
    ).toEqual([]);
  });
});

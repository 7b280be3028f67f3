import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTopology, TopologyParseError, type Topology } from '../../src/host/nvidia-smi/topology.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const dir = join(HOST_FIXTURES, 'nvidia-smi');
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
const parse = (name: string): Topology => parseTopology(read(name));

/** Pairs joined by NVLink, as "a-b:count". */
const nvPairs = (topology: Topology): string[] =>
  topology.links.filter((link) => link.type === 'NV').map((link) => `${link.a}-${link.b}:${link.count}`);
const allPairs = (n: number, count: number): string[] =>
  Array.from({ length: n }, (_, a) =>
    Array.from({ length: n - a - 1 }, (_, i) => `${a}-${a + i + 1}:${count}`),
  ).flat();
const affinity = (topology: Topology): [string | null, string | null][] =>
  topology.gpus.map((gpu) => [gpu.cpuAffinity, gpu.numaAffinity]);

// Expected results as SOURCES.md states them for each real output.
const CASES: {
  file: string;
  gpus: number;
  nv: string[];
  nics: string[];
  affinity: [string | null, string | null][];
  otherTypes?: string[];
}[] = [
  {
    file: 'topo-2x3090-nv4-01.txt',
    gpus: 2,
    nv: ['0-1:4'],
    nics: [],
    affinity: [
      ['0-47', '0'],
      ['0-47', '0'],
    ],
  },
  {
    file: 'topo-2x3090-phb-spaces-01.txt',
    gpus: 2,
    nv: [],
    nics: [],
    affinity: [
      ['0-15', '0'],
      ['0-15', '0'],
    ],
    otherTypes: ['PHB'],
  },
  {
    file: 'topo-2x3090-phb-tabs-01.txt',
    gpus: 2,
    nv: [],
    nics: [],
    affinity: [
      ['0-31', '0'],
      ['0-31', '0'],
    ],
    otherTypes: ['PHB'],
  },
  {
    file: 'topo-5gpu-sys-phb-node-mix-01.txt',
    gpus: 5,
    nv: [],
    nics: [],
    affinity: [['8-15,24-31', '1'], ...Array<[string, string]>(4).fill(['0-7,16-23', '0'])],
    otherTypes: ['NODE', 'PHB', 'SYS'],
  },
  {
    file: 'topo-3xa6000-nv4-pair-node-ansi-01.txt',
    gpus: 3,
    nv: ['0-1:4'],
    nics: [],
    affinity: Array<[string, string]>(3).fill(['0-31,64-95', '0']),
    otherTypes: ['NODE'],
  },
  {
    file: 'topo-4xh100-nv18-8nic-phb-01.txt',
    gpus: 4,
    nv: allPairs(4, 18),
    nics: Array.from({ length: 8 }, (_, i) => `mlx5_${i}`),
    affinity: Array<[string, string]>(4).fill(['0-79', '0']),
  },
  {
    file: 'topo-4xa10-all-sys-2nic-vm-01.txt',
    gpus: 4,
    nv: [],
    nics: ['mlx5_0', 'mlx5_1'],
    affinity: Array<[string, string]>(4).fill(['0-127', '0']),
    otherTypes: ['SYS'],
  },
  {
    file: 'topo-8xa100-nv12-compact-spacing-01.txt',
    gpus: 8,
    nv: allPairs(8, 12),
    nics: [],
    affinity: [
      ...Array<[string, string]>(4).fill(['0-23', '0']),
      ...Array<[string, string]>(4).fill(['24-47', '1']),
    ],
  },
  {
    file: 'topo-8xh100-nv18-compact-spacing-01.txt',
    gpus: 8,
    nv: allPairs(8, 18),
    nics: [],
    affinity: [
      ...Array<[string, string]>(4).fill(['0-51', '0']),
      ...Array<[string, string]>(4).fill(['52-103', '1']),
    ],
  },
  {
    file: 'topo-2gpu-nv2-numa-na-01.txt',
    gpus: 2,
    nv: ['0-1:2'],
    nics: [],
    affinity: [
      ['0-23', null],
      ['0-23', null],
    ],
  },
  {
    file: 'topo-2gpu-phb-numa-na-01.txt',
    gpus: 2,
    nv: [],
    nics: [],
    affinity: [
      ['0-11', null],
      ['0-11', null],
    ],
    otherTypes: ['PHB'],
  },
  {
    file: 'topo-8xh20-nv18-2nic-nolegend-01.txt',
    gpus: 8,
    nv: allPairs(8, 18),
    nics: ['NIC0', 'NIC1'],
    affinity: [
      ...Array<[string, string]>(4).fill(['0-95,192-287', '0']),
      ...Array<[string, string]>(4).fill(['96-191,288-383', '1']),
    ],
  },
  {
    file: 'topo-8xv100-dgx1-hybrid-cube-nv1-nv2-mlx5-01.txt',
    gpus: 8,
    nv: [
      '0-1:1',
      '0-2:1',
      '0-3:2',
      '0-4:2',
      '1-2:2',
      '1-3:1',
      '1-5:2',
      '2-3:2',
      '2-6:1',
      '3-7:1',
      '4-5:1',
      '4-6:1',
      '4-7:2',
      '5-6:2',
      '5-7:1',
      '6-7:2',
    ],
    nics: ['mlx5_0'],
    affinity: [
      ...Array<[string, null]>(4).fill(['0-11,24-35', null]),
      ...Array<[string, null]>(4).fill(['12-23,36-47', null]),
    ],
    otherTypes: ['SYS'],
  },
  {
    file: 'topo-8xa100-nv12-17nic-bond-01.txt',
    gpus: 8,
    nv: allPairs(8, 12),
    nics: [...Array.from({ length: 16 }, (_, i) => `mlx5_${i + 2}`), 'mlx5_bond_0'],
    affinity: Array<[string, string]>(8).fill(['0-103', '0']),
  },
  {
    file: 'topo-8x4090-all-sys-2nic-tabs-01.txt',
    gpus: 8,
    nv: [],
    nics: ['NIC0', 'NIC1'],
    affinity: [
      ...Array<[string, string]>(4).fill(['0-55,112-167', '0']),
      ...Array<[string, string]>(4).fill(['56-111,168-223', '1']),
    ],
    otherTypes: ['SYS'],
  },
  {
    file: 'topo-2x1080ti-phb-numa-na-legend-01.txt',
    gpus: 2,
    nv: [],
    nics: [],
    affinity: [
      ['0-11', null],
      ['0-11', null],
    ],
    otherTypes: ['PHB'],
  },
  {
    file: 'topo-2gpu-nv12-8mlx5-header-names-tabs-01.txt',
    gpus: 2,
    nv: ['0-1:12'],
    nics: Array.from({ length: 8 }, (_, i) => `mlx5_${i}`),
    affinity: Array<[string, string]>(2).fill(['48-95,144-191', '1']),
  },
  { file: 'topo-1xp4-single-gpu-numa-na-tabs-01.txt', gpus: 1, nv: [], nics: [], affinity: [['0-7', null]] },
  { file: 'topo-1xh100-mig-enabled-ansi-tabs-01.txt', gpus: 1, nv: [], nics: [], affinity: [['0-19', '0']] },
  {
    file: 'topo-1xh100-gpu-numa-id-column-ansi-tabs-01.txt',
    gpus: 1,
    nv: [],
    nics: [],
    affinity: [['0-15', '0']],
  },
  {
    file: 'topo-1x2080s-windows-610-empty-affinity-ansi-01.txt',
    gpus: 1,
    nv: [],
    nics: [],
    affinity: [[null, null]],
  },
  { file: 'topo-1x2080s-driver610-ansi-tabs-01.txt', gpus: 1, nv: [], nics: [], affinity: [['0-23', '0']] },
];

describe('parseTopology on real `nvidia-smi topo -m` outputs', () => {
  it('covers every topo -m fixture', () => {
    const files = readdirSync(dir).filter(
      (name) => name.startsWith('topo-') && !name.startsWith('topo-p2p-'),
    );
    expect(CASES.map((c) => c.file).sort()).toEqual(files.sort());
  });

  it.each(CASES)('$file', ({ file, gpus, nv, nics, affinity: expectedAffinity, otherTypes = [] }) => {
    const topology = parse(file);
    expect(topology.gpus.map((gpu) => gpu.index)).toEqual(Array.from({ length: gpus }, (_, i) => i));
    expect(nvPairs(topology).sort()).toEqual([...nv].sort());
    expect(topology.nics).toEqual(nics);
    expect(affinity(topology)).toEqual(expectedAffinity);
    expect([...new Set(topology.links.filter((l) => l.type !== 'NV').map((l) => l.type))].sort()).toEqual(
      otherTypes,
    );
    expect(topology.links).toHaveLength((gpus * (gpus - 1)) / 2);
    for (const link of topology.links) {
      expect(link.a).toBeLessThan(link.b);
      expect('count' in link).toBe(link.type === 'NV');
    }
  });

  it('reads CRLF line endings the same as LF', () => {
    const text = read('topo-4xh100-nv18-8nic-phb-01.txt');
    expect(parseTopology(text.replace(/\n/g, '\r\n'))).toEqual(parseTopology(text));
  });

  it('reads a tab-separated matrix the same once tabs become spaces', () => {
    const text = read('topo-8x4090-all-sys-2nic-tabs-01.txt');
    expect(parseTopology(text.replace(/\t/g, '    '))).toEqual(parseTopology(text));
  });

  it('reports SOC, the older name of SYS, as SYS', () => {
    const text = read('topo-5gpu-sys-phb-node-mix-01.txt').replace(/SYS/g, 'SOC');
    expect(
      parseTopology(text)
        .links.filter((l) => l.a === 0)
        .map((l) => l.type),
    ).toEqual(['SYS', 'SYS', 'SYS', 'SYS']);
  });

  it('reads two-digit GPU indexes', () => {
    // Renumber the 8-GPU matrix to GPU10..GPU17 (columns and rows), keeping its real layout.
    const text = read('topo-8xh100-nv18-compact-spacing-01.txt').replace(
      /GPU(\d)\b/g,
      (_, d: string) => `GPU1${d}`,
    );
    const topology = parseTopology(text);
    expect(topology.gpus.map((gpu) => gpu.index)).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
    expect(nvPairs(topology)).toHaveLength(28);
  });

  it.each(readdirSync(dir).filter((name) => name.startsWith('topo-p2p-')))(
    'rejects the -p2p matrix %s',
    (file) => {
      expect(() => parse(file)).toThrow(TopologyParseError);
    },
  );

  it.each(readdirSync(dir).filter((name) => name.startsWith('error-') || name.startsWith('amd-')))(
    'rejects %s, saying what the tool printed',
    (file) => {
      expect(() => parse(file)).toThrow(TopologyParseError);
      const firstLine =
        read(file)
          .split('\n')
          .find((line) => line.trim() !== '') ?? '';
      if (!file.startsWith('amd-')) expect(() => parse(file)).toThrow(firstLine.trim());
      else expect(() => parse(file)).toThrow(/rocm-smi/);
    },
  );

  it('rejects a matrix cut off before its rows', () => {
    const header = read('topo-2x3090-nv4-01.txt').split('\n')[0] ?? '';
    expect(() => parseTopology(`${header}\n`)).toThrow(TopologyParseError);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerInfoRuntimes, parseSystemDf, reclaimableShare } from '../../src/host/docker-text.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const read = (name: string): string => readFileSync(join(HOST_FIXTURES, 'docker', name), 'utf8');

describe('parseDockerInfoRuntimes', () => {
  it.each([
    ['docker-info-1.12-flat-runtimes-runc-only-warning-midstream-01.txt', ['runc'], 'runc'],
    ['docker-info-18.06-flat-runtimes-runc-kata-no-nvidia-01.txt', ['runc', 'kata-runtime'], 'kata-runtime'],
    ['docker-info-19.03-nested-runtimes-runc-only-01.txt', ['runc'], 'runc'],
    [
      'docker-info-20.10-runtimes-nvidia-first-default-runc-01.txt',
      ['nvidia', 'runc', 'io.containerd.runc.v2', 'io.containerd.runtime.v1.linux'],
      'runc',
    ],
    [
      'docker-info-28-runtimes-io-containerd-nvidia-runc-01.txt',
      ['io.containerd.runc.v2', 'nvidia', 'runc'],
      'runc',
    ],
    ['docker-info-grep-runtime-no-nvidia-after-update-01.txt', ['io.containerd.runc.v2', 'runc'], 'runc'],
  ])('%s', (file, runtimes, defaultRuntime) => {
    expect(parseDockerInfoRuntimes(read(file))).toEqual({ runtimes, defaultRuntime });
  });
});

describe('parseSystemDf', () => {
  it('reads compact sizes and a build cache row without a percentage', () => {
    const rows = parseSystemDf(read('docker-system-df-2023-compact-buildcache-no-pct-01.txt'));
    expect(rows).toEqual([
      { type: 'Images', total: 1, active: 0, sizeBytes: 10, reclaimableBytes: 10 },
      { type: 'Containers', total: 0, active: 0, sizeBytes: 0, reclaimableBytes: 0 },
      { type: 'Local Volumes', total: 0, active: 0, sizeBytes: 0, reclaimableBytes: 0 },
      { type: 'Build Cache', total: 15, active: 0, sizeBytes: 239, reclaimableBytes: 239 },
    ]);
  });

  it('reads sizes with a space before the unit', () => {
    const rows = parseSystemDf(read('docker-system-df-2017-space-units-3rows-01.txt'));
    expect(rows[0]).toEqual({
      type: 'Images',
      total: 2,
      active: 0,
      sizeBytes: 3.225e9,
      reclaimableBytes: 3.225e9,
    });
    expect(rows).toHaveLength(3);
  });

  it('treats the negative reclaimable space of old engines as none', () => {
    const rows = parseSystemDf(read('docker-system-df-2017-v1.13-negative-reclaimable-01.txt'));
    expect(rows[0]).toMatchObject({ sizeBytes: 2.833e9, reclaimableBytes: 0 });
    expect(rows[1]).toMatchObject({ sizeBytes: 201.9e6, reclaimableBytes: 0 });
  });

  it('computes the reclaimable share of everything stored', () => {
    const rows = parseSystemDf(read('docker-system-df-2020-wide-4rows-01.txt'));
    expect(rows).toHaveLength(4);
    expect(reclaimableShare(rows)).toBeCloseTo(1.129e9 / (12.58e9 + 5.093e6), 6);
    expect(reclaimableShare([])).toBe(0);
  });
});

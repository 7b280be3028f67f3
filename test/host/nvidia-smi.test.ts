import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyNvidiaSmiFailure } from '../../src/host/nvidia-smi/failure.js';
import { parseGpuQuery, parseQueryCsv, GPU_QUERY_FIELDS } from '../../src/host/nvidia-smi/query.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const dir = join(HOST_FIXTURES, 'nvidia-smi');
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');

describe('parseGpuQuery', () => {
  it('reads a header with unit tags and values with units', () => {
    const gpus = parseGpuQuery(read('query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt'));
    expect(gpus).toHaveLength(4);
    expect(gpus[3]).toEqual({
      index: 3,
      name: 'NVIDIA A100-SXM4-80GB',
      memoryTotalMiB: 81920,
      driverVersion: '580.105.08',
    });
  });

  it('reports [N/A] memory (unified memory) as null', () => {
    const gpus = parseGpuQuery(read('query-gpu-csv-header-gb10-memory-na-01.txt'));
    expect(gpus).toEqual([{ index: 0, name: 'NVIDIA GB10', memoryTotalMiB: null, driverVersion: 'unknown' }]);
  });

  it('reads noheader,nounits output by field order (the form stackctl asks for)', () => {
    // The 4xA100 output with its header and units removed and compute_cap dropped, as
    // --format=csv,noheader,nounits prints the four fields stackctl queries.
    const text = read('query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt')
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => {
        const cells = line.split(', ');
        return [cells[0], cells[1], cells[2]?.replace(' MiB', ''), cells[4]].join(', ');
      })
      .join('\n');
    expect(parseGpuQuery(text).map((gpu) => gpu.memoryTotalMiB)).toEqual([81920, 81920, 81920, 81920]);
  });

  it('reads nounits with a header, and wide outputs with hundreds of columns', () => {
    const p100 = parseQueryCsv(read('query-gpu-csv-header-nounits-p100-na-fan-01.txt'), ['name']);
    expect(p100[0]).toMatchObject({
      name: 'Tesla P100-PCIE-16GB',
      'fan.speed': null,
      'memory.free': '16280',
    });
    const h100 = parseQueryCsv(
      read('query-gpu-csv-1xh100-mig-all-fields-header-units-01.txt'),
      GPU_QUERY_FIELDS,
    );
    expect(h100).toHaveLength(1);
    expect(Object.keys(h100[0] ?? {}).length).toBeGreaterThan(100);
    expect(h100[0]?.['index']).toBe('0');
  });

  it('rejects a row with the wrong number of values', () => {
    expect(() => parseGpuQuery('0, NVIDIA GB10, [N/A]')).toThrow(/3 values for 4 columns/);
  });

  it('returns no GPUs for empty output', () => {
    expect(parseGpuQuery('')).toEqual([]);
  });
});

describe('classifyNvidiaSmiFailure', () => {
  const expected: Record<string, string> = {
    'error-smi-failed-communicate-driver-docker-01.txt': 'driver-unreachable',
    'error-smi-failed-communicate-driver-wsl1-trailing-space-01.txt': 'driver-unreachable',
    'error-nvml-driver-library-mismatch-01.txt': 'driver-library-mismatch',
    'error-nvml-driver-library-mismatch-with-lib-version-01.txt': 'driver-library-mismatch',
    'error-no-devices-were-found-01.txt': 'no-devices',
    'error-unable-determine-device-handle-nospace-01.txt': 'device-handle',
    'error-wsl2-device-handle-tcc-no-devices-01.txt': 'device-handle',
    'error-topo-m-with-i-flag-01.txt': 'unsupported-option',
    'error-topo-m-windows-591-option-missing-value-01.txt': 'unsupported-option',
  };

  it('covers every error fixture', () => {
    expect(Object.keys(expected).sort()).toEqual(
      readdirSync(dir)
        .filter((n) => n.startsWith('error-'))
        .sort(),
    );
  });

  it.each(Object.entries(expected))('%s is %s, quoting the driver', (file, kind) => {
    const failure = classifyNvidiaSmiFailure(read(file));
    expect(failure.kind).toBe(kind);
    const firstLine = (read(file).split('\n')[0] ?? '').trim();
    expect(failure.message.startsWith(firstLine)).toBe(true);
    expect(failure.message).not.toMatch(/\s$/);
    expect(failure.fix).not.toBe('');
  });

  it('keeps every line of a multi-line message', () => {
    expect(
      classifyNvidiaSmiFailure(read('error-nvml-driver-library-mismatch-with-lib-version-01.txt')).message,
    ).toBe('Failed to initialize NVML: Driver/library version mismatch; NVML library version: 570.124');
  });
});

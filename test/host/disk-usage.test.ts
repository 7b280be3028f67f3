// Disk usage from the Engine API, checked against what the docker CLI printed at the same moment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskUsageFromApi, reclaimableShare, type SystemDf } from '../../src/host/disk-usage.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const read = (name: string): string => readFileSync(join(HOST_FIXTURES, 'docker', name), 'utf8');

describe('diskUsageFromApi', () => {
  it('computes the rows `docker system df` printed from the same engine at the same moment', () => {
    const rows = diskUsageFromApi(JSON.parse(read('docker-api-system-df-26.1-01.json')) as SystemDf);
    // docker-system-df-26.1-same-moment-01.txt: what the CLI printed for this data.
    expect(read('docker-system-df-26.1-same-moment-01.txt')).toContain(
      'Images          7         1         1.984MB   1.984MB (100%)',
    );
    expect(rows).toEqual([
      { type: 'Images', total: 7, active: 1, sizeBytes: 1_984_165, reclaimableBytes: 1_984_165 },
      { type: 'Containers', total: 3, active: 2, sizeBytes: 0, reclaimableBytes: 0 },
      { type: 'Local Volumes', total: 2, active: 2, sizeBytes: 26, reclaimableBytes: 0 },
      { type: 'Build Cache', total: 7, active: 0, sizeBytes: 131, reclaimableBytes: 131 },
    ]);
  });

  it('keeps what running containers use, and never goes negative on shared layers', () => {
    const rows = diskUsageFromApi({
      LayersSize: 10e9,
      Images: [
        { Size: 6e9, SharedSize: 1e9, Containers: 2 },
        { Size: 4e9, SharedSize: 1e9, Containers: 0 },
      ],
      Containers: [
        { SizeRw: 5e6, State: 'running' },
        { SizeRw: 7e6, State: 'exited' },
      ],
      Volumes: [{ UsageData: { Size: 2e9, RefCount: 0 } }, { UsageData: { Size: -1, RefCount: -1 } }],
      BuildCache: null,
    });
    expect(rows.map((row) => [row.type, row.reclaimableBytes])).toEqual([
      ['Images', 5e9],
      ['Containers', 7e6],
      ['Local Volumes', 2e9],
      ['Build Cache', 0],
    ]);
    expect(reclaimableShare(rows)).toBeCloseTo((5e9 + 7e6 + 2e9) / (10e9 + 12e6 + 2e9));
  });
});

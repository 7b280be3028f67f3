// CPU and memory from Docker's stats endpoint, on a real answer: test/fixtures/host/docker/
// stats-cgroup1-busy.json (a container spinning one core, a 50 MB file in its page cache, 256 MiB limit).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageOf } from '../../src/host/docker-stats.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const busy = JSON.parse(
  readFileSync(join(HOST_FIXTURES, 'docker', 'stats-cgroup1-busy.json'), 'utf8'),
) as Record<string, unknown>;

describe('usageOf', () => {
  it('computes CPU from the two samples as docker stats does: one busy core of two is about 100%', () => {
    const usage = usageOf(busy);
    expect(usage.cpuPercent).toBeCloseTo(98.5, 1);
  });

  it('counts memory without the page cache the kernel can drop, and reports the limit', () => {
    const usage = usageOf(busy);
    // usage 52,088,832 minus total_inactive_file 50,003,968: the file in /tmp is cache.
    expect(usage.memoryBytes).toBe(2_084_864);
    expect(usage.memoryLimitBytes).toBe(256 * 1024 * 1024);
  });

  it('takes cgroup v2 inactive_file, and says nothing it cannot know', () => {
    expect(
      usageOf({ memory_stats: { usage: 1000, limit: 4000, stats: { inactive_file: 400 } } }).memoryBytes,
    ).toBe(600);
    // A stopped container answers with empty samples: no second sample, no usage.
    expect(
      usageOf({ cpu_stats: { cpu_usage: { total_usage: 0 } }, precpu_stats: {}, memory_stats: {} }),
    ).toEqual({
      cpuPercent: null,
      memoryBytes: null,
      memoryLimitBytes: null,
    });
  });
});

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyNvidiaSmiFailure } from '../../src/host/nvidia-smi/failure.js';
import { GPU_QUERY_FIELDS, parseQueryCsv } from '../../src/host/nvidia-smi/query.js';
import { parseTopology, TopologyParseError } from '../../src/host/nvidia-smi/topology.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

// Every real nvidia-smi output, whatever command printed it, goes through the parsers stackctl
// uses: each is either read, or refused with a parse error; none crashes a parser or is misread.
const dir = join(HOST_FIXTURES, 'nvidia-smi');
const files = readdirSync(dir).sort();
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');

describe('every nvidia-smi fixture', () => {
  it.each(files.filter((name) => !name.startsWith('topo-') || name.startsWith('topo-p2p-')))(
    '%s is not mistaken for a topology matrix',
    (name) => {
      expect(() => parseTopology(read(name))).toThrow(TopologyParseError);
    },
  );

  // The fields each noheader output was asked for (SOURCES.md names the commands).
  const noheaderFields: Record<string, string[]> = {
    'query-gpu-csv-gb10-memory-na-noheader-01.txt': ['memory.used', 'memory.total', 'utilization.memory'],
    'query-gpu-csv-noheader-name-pci-device-id-h100nvl-01.txt': ['name', 'pci.device_id'],
  };

  it.each(files.filter((name) => name.startsWith('query-gpu-csv-')))('%s reads as CSV records', (name) => {
    const records = parseQueryCsv(read(name), noheaderFields[name] ?? GPU_QUERY_FIELDS);
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) expect(Object.values(record).some((value) => value !== null)).toBe(true);
  });

  it.each(files.filter((name) => /^(list-gpus|nvlink-status|smi-table)-/.test(name)))(
    '%s is no GPU query answer, and failure classification does not call it a driver error',
    (name) => {
      expect(() =>
        parseQueryCsv(read(name), GPU_QUERY_FIELDS).map((row) => Number(row['index'])),
      ).not.toThrow(TypeError);
      expect(['unknown', 'unsupported-option']).toContain(classifyNvidiaSmiFailure(read(name)).kind);
    },
  );
});

import { cleanLines } from '../text.js';

/** One GPU as `nvidia-smi --query-gpu=index,name,memory.total,driver_version` describes it. */
export interface GpuInfo {
  readonly index: number;
  readonly name: string;
  /** Null when the driver reports [N/A] (unified-memory systems such as GB10). */
  readonly memoryTotalMiB: number | null;
  readonly driverVersion: string;
}

export const GPU_QUERY_FIELDS = ['index', 'name', 'memory.total', 'driver_version'] as const;

export class QueryParseError extends Error {
  override readonly name = 'QueryParseError';
}

/**
 * Parses `--query-gpu` CSV into records keyed by field name. With a header (`--format=csv`) the
 * header names the columns and may carry unit tags (`memory.total [MiB]`); without one
 * (`noheader`) the columns are `fields` in order. Values lose their units; `[N/A]` becomes null.
 */
export function parseQueryCsv(text: string, fields: readonly string[]): Record<string, string | null>[] {
  const lines = cleanLines(text).filter((line) => line.trim() !== '');
  if (lines.length === 0) return [];
  const first = splitRow(lines[0] ?? '');
  const headerNames = first.map((cell) => cell.replace(/\s*\[[^\]]*\]$/, ''));
  const hasHeader = first.every((cell) => FIELD_NAME.test(cell));
  const columns = hasHeader ? headerNames : [...fields];
  const rows = hasHeader ? lines.slice(1) : lines;
  return rows.map((line, rowNumber) => {
    const cells = splitRow(line);
    if (cells.length !== columns.length) {
      throw new QueryParseError(
        `row ${rowNumber + 1} has ${cells.length} values for ${columns.length} columns: ${line.trim()}`,
      );
    }
    const record: Record<string, string | null> = {};
    columns.forEach((column, i) => {
      record[column] = cleanValue(cells[i] ?? '');
    });
    return record;
  });
}

// A header cell is a query field name, with a unit tag when units are on: `memory.total [MiB]`.
const FIELD_NAME = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\s\[[^\]]*\])?$/i;

function splitRow(line: string): string[] {
  return line.split(',').map((cell) => cell.trim());
}

function cleanValue(cell: string): string | null {
  if (cell === '' || /^\[.*\]$/.test(cell) || cell === 'N/A') return null;
  return cell.replace(/\s+(MiB|GiB|MHz|W|%|C)$/, '');
}

/** Reads the GPU list stackctl asks for; see GPU_QUERY_FIELDS. */
export function parseGpuQuery(text: string): GpuInfo[] {
  const records = parseQueryCsv(text, GPU_QUERY_FIELDS);
  return records.map((record, i) => {
    const index = Number(record['index']);
    if (record['index'] === null || record['index'] === undefined || !Number.isInteger(index)) {
      throw new QueryParseError(`row ${i + 1} has no GPU index`);
    }
    const memory = record['memory.total'];
    return {
      index,
      name: record['name'] ?? 'unknown GPU',
      memoryTotalMiB:
        memory === null || memory === undefined || !/^\d+$/.test(memory) ? null : Number(memory),
      driverVersion: record['driver_version'] ?? 'unknown',
    };
  });
}

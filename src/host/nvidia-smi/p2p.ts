import { cleanLines } from '../text.js';

/** One pair's cell of `nvidia-smi topo -p2p r|w|rw`: OK, or why peer-to-peer is off (CNS, GNS, TNS, NS, DR, U). */
export interface P2pCell {
  readonly a: number;
  readonly b: number;
  readonly status: string;
}

/**
 * Reads a `topo -p2p` matrix (tabs or spaces, ANSI escapes, a legend after it): every GPU pair
 * once, a < b. Rows that are not GPUs end the matrix.
 */
export function parseP2pMatrix(text: string): P2pCell[] {
  const lines = cleanLines(text).map((line) => line.trim());
  const headerAt = lines.findIndex((line) => /^GPU\d+(\s+GPU\d+)*$/.test(line));
  if (headerAt < 0) return [];
  const columns = (lines[headerAt] ?? '').split(/\s+/).map((name) => Number(name.slice(3)));
  const cells: P2pCell[] = [];
  for (const line of lines.slice(headerAt + 1)) {
    const row = /^GPU(\d+)\s+(.*)$/.exec(line);
    if (!row) break;
    const a = Number(row[1]);
    (row[2] ?? '').split(/\s+/).forEach((status, i) => {
      const b = columns[i];
      if (b !== undefined && a < b) cells.push({ a, b, status });
    });
  }
  return cells;
}

import { excerpt } from '../../text.js';
import { cleanLines, tokens, type Token } from '../text.js';

/** How two devices are connected, as `nvidia-smi topo -m` names it (older drivers' SOC is SYS). */
export type LinkType = 'NV' | 'PIX' | 'PXB' | 'PHB' | 'NODE' | 'SYS';

export interface TopologyGpu {
  readonly index: number;
  readonly cpuAffinity: string | null;
  readonly numaAffinity: string | null;
}

export interface GpuLink {
  readonly a: number;
  readonly b: number;
  readonly type: LinkType;
  /** Number of bonded NVLinks; only for NV links. */
  readonly count?: number;
}

export interface Topology {
  readonly gpus: readonly TopologyGpu[];
  /** NICs by name: from the NIC legend when there is one, else as the header names them. */
  readonly nics: readonly string[];
  /** Every unordered GPU pair once, a < b, ordered by a then b. */
  readonly links: readonly GpuLink[];
}

export class TopologyParseError extends Error {
  override readonly name = 'TopologyParseError';
}

const AFFINITY_COLUMNS = [
  { words: ['CPU', 'Affinity'], key: 'cpu' },
  { words: ['NUMA', 'Affinity'], key: 'numa' },
  { words: ['GPU', 'NUMA', 'ID'], key: 'gpuNuma' },
] as const;
type AffinityKey = (typeof AFFINITY_COLUMNS)[number]['key'];

interface Column {
  readonly name: string;
  readonly column: number;
}

interface Header {
  readonly devices: readonly Column[];
  readonly affinity: readonly (Column & { key: AffinityKey })[];
}

const GPU_NAME = /^GPU(\d+)$/;
const LINK_CELL = /^(X|NV\d+|PIX|PXB|PHB|NODE|SYS|SOC)$/;

/** Parses the matrix `nvidia-smi topo -m` prints, whatever its spacing, escapes and line endings. */
export function parseTopology(text: string): Topology {
  const lines = cleanLines(text);
  // The header is the first line that starts, indented, with a GPU column; rows start at column 0.
  const headerIndex = lines.findIndex((line) => {
    const first = tokens(line)[0];
    return first !== undefined && first.column > 0 && GPU_NAME.test(first.text);
  });
  if (headerIndex < 0) throw new TopologyParseError(notATopologyReason(text));
  const header = parseHeader(lines[headerIndex] ?? '');
  const deviceNames = new Set(header.devices.map((device) => device.name));

  const rows = new Map<string, { cells: string[]; affinity: Map<AffinityKey, string | null> }>();
  for (const line of lines.slice(headerIndex + 1)) {
    const lineTokens = tokens(line);
    const label = lineTokens[0]?.text;
    if (label === undefined || !deviceNames.has(label) || lineTokens[0]?.column !== 0) {
      if (rows.size > 0 && line.trim() === '') break;
      continue;
    }
    const cells = lineTokens.slice(1, 1 + header.devices.length).map((token) => token.text);
    if (cells.length < header.devices.length || !cells.every((cell) => LINK_CELL.test(cell))) {
      throw new TopologyParseError(`row ${excerpt(label)} does not have a link cell for every device`);
    }
    rows.set(label, { cells, affinity: readAffinity(lineTokens.slice(1 + header.devices.length), header) });
  }

  const gpuColumns = header.devices
    .map((device, position) => ({ position, index: GPU_NAME.exec(device.name)?.[1] }))
    .filter((entry): entry is { position: number; index: string } => entry.index !== undefined)
    .map(({ position, index }) => ({ position, index: Number(index) }));

  const gpus: TopologyGpu[] = gpuColumns.map(({ index }) => {
    const row = rows.get(`GPU${index}`);
    if (!row) {
      throw new TopologyParseError(
        rows.size === 0
          ? 'a GPU header but no GPU rows: this is not `nvidia-smi topo -m` output (a `topo -p2p` matrix?)'
          : `the matrix has a GPU${index} column but no GPU${index} row`,
      );
    }
    return {
      index,
      cpuAffinity: row.affinity.get('cpu') ?? null,
      numaAffinity: row.affinity.get('numa') ?? null,
    };
  });

  const links: GpuLink[] = [];
  const sorted = [...gpuColumns].sort((x, y) => x.index - y.index);
  for (const [i, from] of sorted.entries()) {
    for (const to of sorted.slice(i + 1)) {
      const cell = rows.get(`GPU${from.index}`)?.cells[to.position] ?? '';
      links.push(toLink(from.index, to.index, cell));
    }
  }

  return { gpus: [...gpus].sort((x, y) => x.index - y.index), nics: nicNames(header, lines), links };
}

function parseHeader(line: string): Header {
  const headerTokens = tokens(line);
  const devices: Column[] = [];
  const affinity: (Column & { key: AffinityKey })[] = [];
  for (let i = 0; i < headerTokens.length;) {
    const match = AFFINITY_COLUMNS.find(({ words }) =>
      words.every((word, offset) => headerTokens[i + offset]?.text === word),
    );
    const token = headerTokens[i] as Token;
    if (match) {
      affinity.push({ name: match.words.join(' '), column: token.column, key: match.key });
      i += match.words.length;
    } else {
      if (affinity.length > 0)
        throw new TopologyParseError(`unexpected header column "${excerpt(token.text)}"`);
      devices.push({ name: token.text, column: token.column });
      i += 1;
    }
  }
  return { devices, affinity };
}

/**
 * Affinity cells may be empty (Windows, WSL2), and nvidia-smi pads them with tabs unevenly. When
 * every column has a value they are read in order; otherwise each value goes to the column whose
 * header starts nearest to it, a tie going to the later column (empty cells get fewer tabs).
 */
function readAffinity(cells: Token[], header: Header): Map<AffinityKey, string | null> {
  const values = new Map<AffinityKey, string | null>();
  const assign = (key: AffinityKey, text: string): void => {
    values.set(key, text === 'N/A' || text === '' ? null : text);
  };
  if (cells.length === header.affinity.length) {
    header.affinity.forEach((column, i) => assign(column.key, cells[i]?.text ?? ''));
    return values;
  }
  for (const cell of cells) {
    let best: (Column & { key: AffinityKey }) | undefined;
    for (const column of header.affinity) {
      const distance = Math.abs(column.column - cell.column);
      if (!best || distance <= Math.abs(best.column - cell.column)) best = column;
    }
    if (best) assign(best.key, cell.text);
  }
  return values;
}

function toLink(a: number, b: number, cell: string): GpuLink {
  const nv = /^NV(\d+)$/.exec(cell);
  if (nv) return { a, b, type: 'NV', count: Number(nv[1]) };
  if (cell === 'SOC' || cell === 'SYS') return { a, b, type: 'SYS' };
  if (cell === 'PIX' || cell === 'PXB' || cell === 'PHB' || cell === 'NODE') return { a, b, type: cell };
  throw new TopologyParseError(`GPU${a} and GPU${b} have no link cell (found "${excerpt(cell)}")`);
}

function nicNames(header: Header, lines: string[]): string[] {
  const legend = new Map<string, string>();
  const legendStart = lines.findIndex((line) => line.trim() === 'NIC Legend:');
  if (legendStart >= 0) {
    for (const line of lines.slice(legendStart + 1)) {
      const entry = /^\s*(NIC\d+):\s*(\S+)\s*$/.exec(line);
      if (entry) legend.set(entry[1] ?? '', entry[2] ?? '');
    }
  }
  return header.devices
    .map((device) => device.name)
    .filter((name) => !GPU_NAME.test(name))
    .map((name) => legend.get(name) ?? name);
}

function notATopologyReason(text: string): string {
  const first = cleanLines(text).find((line) => line.trim() !== '');
  if (first === undefined) return 'nvidia-smi printed nothing';
  if (/ROCm System Management Interface/.test(text))
    return 'this is rocm-smi output (AMD GPUs), not nvidia-smi';
  return `no GPU matrix in the output; nvidia-smi said: ${excerpt(first.trim(), 300)}`;
}

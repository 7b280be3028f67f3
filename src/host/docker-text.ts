// Parsers for what the docker CLI prints for people (`docker info`, `docker system df`).

export interface DockerRuntimes {
  readonly runtimes: readonly string[];
  readonly defaultRuntime: string | null;
}

/** The runtimes `docker info` lists, in the flat (old) or nested (Server:) layout. */
export function parseDockerInfoRuntimes(text: string): DockerRuntimes {
  const runtimesLine = /^\s*Runtimes:[ \t]*(.*)$/m.exec(text);
  const defaultLine = /^\s*Default Runtime:[ \t]*(\S+)/m.exec(text);
  return {
    runtimes: runtimesLine ? (runtimesLine[1] ?? '').trim().split(/\s+/).filter(Boolean) : [],
    defaultRuntime: defaultLine?.[1] ?? null,
  };
}

export interface DiskUsageRow {
  readonly type: string;
  readonly total: number;
  readonly active: number;
  readonly sizeBytes: number;
  /** Never negative: old engines printed negative reclaimable space for shared layers. */
  readonly reclaimableBytes: number;
}

const SIZE = String.raw`(-?[0-9.]+(?:e[+-]?\d+)?)\s?([kKMGTP]?i?B)`;
const ROW = new RegExp(
  String.raw`^(Images|Containers|Local Volumes|Build Cache)\s+(\d+)\s+(\d+)\s+${SIZE}\s+${SIZE}(?:\s+\(-?\d+%\))?\s*$`,
);

const UNIT: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, PB: 1e15 };

/** Parses the table `docker system df` prints. Sizes are decimal units, as the CLI prints them. */
export function parseSystemDf(text: string): DiskUsageRow[] {
  const rows: DiskUsageRow[] = [];
  for (const line of text.replace(/\r/g, '').split('\n')) {
    const match = ROW.exec(line.trim());
    if (!match) continue;
    rows.push({
      type: match[1] ?? '',
      total: Number(match[2]),
      active: Number(match[3]),
      sizeBytes: toBytes(match[4], match[5]),
      reclaimableBytes: Math.max(0, toBytes(match[6], match[7])),
    });
  }
  return rows;
}

function toBytes(value: string | undefined, unit: string | undefined): number {
  const factor = UNIT[(unit ?? 'B').replace('i', '')] ?? 1;
  return Math.round(Number(value) * factor);
}

/** Reclaimable space as a share of everything Docker stores, 0 to 1. */
export function reclaimableShare(rows: readonly DiskUsageRow[]): number {
  const size = rows.reduce((sum, row) => sum + row.sizeBytes, 0);
  const reclaimable = rows.reduce((sum, row) => sum + row.reclaimableBytes, 0);
  return size === 0 ? 0 : reclaimable / size;
}

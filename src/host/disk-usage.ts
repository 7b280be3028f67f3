// What Docker stores and what of it could be reclaimed, from the Engine API's /system/df: the data
// `docker system df` prints, computed the way the docker CLI computes its table.

export interface DiskUsageRow {
  readonly type: 'Images' | 'Containers' | 'Local Volumes' | 'Build Cache';
  readonly total: number;
  readonly active: number;
  readonly sizeBytes: number;
  readonly reclaimableBytes: number;
}

/** The parts of GET /system/df read here (older engines leave some out). */
export interface SystemDf {
  readonly LayersSize?: number;
  readonly Images?: readonly { Size?: number; SharedSize?: number; Containers?: number }[] | null;
  readonly Containers?: readonly { SizeRw?: number; State?: string }[] | null;
  readonly Volumes?: readonly { UsageData?: { Size?: number; RefCount?: number } | null }[] | null;
  readonly BuildCache?: readonly { Size?: number; InUse?: boolean; Shared?: boolean }[] | null;
}

const positive = (value: number | undefined): number => (value !== undefined && value > 0 ? value : 0);

export function diskUsageFromApi(df: SystemDf): DiskUsageRow[] {
  const images = df.Images ?? [];
  const used = images.filter((image) => positive(image.Containers) > 0);
  const layers = positive(df.LayersSize);
  // An image in use keeps its own layers; layers shared with other images are not counted twice.
  const inUse = used.reduce(
    (sum, image) => sum + Math.max(0, positive(image.Size) - positive(image.SharedSize)),
    0,
  );
  const containers = df.Containers ?? [];
  const volumes = df.Volumes ?? [];
  const cache = df.BuildCache ?? [];
  return [
    {
      type: 'Images',
      total: images.length,
      active: used.length,
      sizeBytes: layers,
      reclaimableBytes: Math.max(0, layers - inUse),
    },
    {
      type: 'Containers',
      total: containers.length,
      active: containers.filter((c) => c.State === 'running').length,
      sizeBytes: containers.reduce((sum, c) => sum + positive(c.SizeRw), 0),
      reclaimableBytes: containers
        .filter((c) => c.State !== 'running')
        .reduce((sum, c) => sum + positive(c.SizeRw), 0),
    },
    {
      type: 'Local Volumes',
      total: volumes.length,
      active: volumes.filter((v) => positive(v.UsageData?.RefCount) > 0).length,
      sizeBytes: volumes.reduce((sum, v) => sum + positive(v.UsageData?.Size), 0),
      reclaimableBytes: volumes
        .filter((v) => positive(v.UsageData?.RefCount) === 0)
        .reduce((sum, v) => sum + positive(v.UsageData?.Size), 0),
    },
    {
      type: 'Build Cache',
      total: cache.length,
      active: cache.filter((c) => c.InUse === true).length,
      sizeBytes: cache.filter((c) => c.Shared !== true).reduce((sum, c) => sum + positive(c.Size), 0),
      reclaimableBytes: cache
        .filter((c) => c.InUse !== true && c.Shared !== true)
        .reduce((sum, c) => sum + positive(c.Size), 0),
    },
  ];
}

/** Reclaimable space as a share of everything Docker stores, 0 to 1. */
export function reclaimableShare(rows: readonly DiskUsageRow[]): number {
  const size = rows.reduce((sum, row) => sum + row.sizeBytes, 0);
  const reclaimable = rows.reduce((sum, row) => sum + row.reclaimableBytes, 0);
  return size === 0 ? 0 : reclaimable / size;
}

// A transfer's progress in one line: bytes done of the total, a bar, the rate and the time left.

export interface TransferSample {
  readonly doneBytes: number;
  readonly totalBytes: number;
  readonly elapsedMs: number;
}

export function bytesText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

export function durationText(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `[#####.....] 1.21 GiB / 4.98 GiB  112 MiB/s  ETA 34s`, the bar `width` wide. */
export function transferLine(sample: TransferSample, width = 20): string {
  const share = sample.totalBytes > 0 ? Math.min(1, sample.doneBytes / sample.totalBytes) : 1;
  const filled = Math.round(share * width);
  const rate = sample.elapsedMs > 0 ? (sample.doneBytes * 1000) / sample.elapsedMs : 0;
  const eta = rate > 0 ? (sample.totalBytes - sample.doneBytes) / rate : Number.POSITIVE_INFINITY;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${bytesText(sample.doneBytes)} / ${bytesText(sample.totalBytes)}  ${bytesText(rate)}/s  ETA ${durationText(eta)}`;
}

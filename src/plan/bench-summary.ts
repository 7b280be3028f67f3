// The summary of a load test from JMeter's results file (CSV, one row per sample), per sampler and
// in total: requests, errors, throughput, latency percentiles, and what the errors were. Columns
// are read by name, so any JMeter version's layout works. Pure.

export interface ErrorCount {
  readonly code: string;
  readonly message: string;
  readonly count: number;
}

export interface SamplerSummary {
  readonly label: string;
  readonly requests: number;
  readonly errors: number;
  /** Requests per second over the sampler's own window (first start to last end), as JMeter counts. */
  readonly throughput: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The most frequent errors, most first (at most 3). */
  readonly topErrors: readonly ErrorCount[];
}

export interface BenchSummary {
  readonly samplers: readonly SamplerSummary[];
  readonly total: SamplerSummary;
  /** Epoch ms of the first sample (undefined without samples). */
  readonly firstSampleAt: number | undefined;
  readonly durationSeconds: number;
}

interface Bucket {
  readonly elapsed: number[];
  errors: number;
  first: number;
  last: number;
  readonly errorKinds: Map<string, ErrorCount>;
}

/** Samples in, summary out: `add` each CSV record (column name -> text), then `summary`. */
export class JtlAccumulator {
  private readonly buckets = new Map<string, Bucket>();
  private readonly total: Bucket = emptyBucket();
  private malformed = 0;

  add(record: Readonly<Record<string, string | undefined>>): void {
    const timeStamp = Number(record.timeStamp);
    const elapsed = Number(record.elapsed);
    const label = record.label;
    if (!Number.isFinite(timeStamp) || !Number.isFinite(elapsed) || label === undefined) {
      this.malformed++;
      return;
    }
    const failed = record.success !== 'true';
    const error = failed
      ? { code: record.responseCode ?? '', message: record.failureMessage || record.responseMessage || '' }
      : undefined;
    let bucket = this.buckets.get(label);
    if (!bucket) {
      bucket = emptyBucket();
      this.buckets.set(label, bucket);
    }
    for (const target of [bucket, this.total]) record_(target, timeStamp, elapsed, error);
  }

  /** Rows that were not samples (a truncated last line). */
  get skipped(): number {
    return this.malformed;
  }

  summary(): BenchSummary {
    const samplers = [...this.buckets.entries()].map(([label, bucket]) => summarise(label, bucket));
    const total = summarise('TOTAL', this.total);
    const empty = this.total.elapsed.length === 0;
    return {
      samplers,
      total,
      firstSampleAt: empty ? undefined : this.total.first,
      durationSeconds: empty ? 0 : (this.total.last - this.total.first) / 1000,
    };
  }
}

function emptyBucket(): Bucket {
  return { elapsed: [], errors: 0, first: Infinity, last: -Infinity, errorKinds: new Map() };
}

function record_(
  bucket: Bucket,
  timeStamp: number,
  elapsed: number,
  error: { code: string; message: string } | undefined,
): void {
  bucket.elapsed.push(elapsed);
  bucket.first = Math.min(bucket.first, timeStamp);
  bucket.last = Math.max(bucket.last, timeStamp + elapsed);
  if (!error) return;
  bucket.errors++;
  const key = `${error.code}\u0000${error.message}`;
  const seen = bucket.errorKinds.get(key);
  bucket.errorKinds.set(key, { code: error.code, message: error.message, count: (seen?.count ?? 0) + 1 });
}

function summarise(label: string, bucket: Bucket): SamplerSummary {
  const sorted = Float64Array.from(bucket.elapsed).sort();
  const n = sorted.length;
  const windowMs = n === 0 ? 0 : Math.max(bucket.last - bucket.first, 1);
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    label,
    requests: n,
    errors: bucket.errors,
    throughput: n === 0 ? 0 : round((n * 1000) / windowMs, 2),
    meanMs: n === 0 ? 0 : round(sum / n, 1),
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    p99Ms: percentile(sorted, 0.99),
    maxMs: n === 0 ? 0 : (sorted[n - 1] ?? 0),
    topErrors: [...bucket.errorKinds.values()].sort((a, b) => b.count - a.count).slice(0, 3),
  };
}

/** Nearest-rank percentile of sorted values (0 when there are none). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

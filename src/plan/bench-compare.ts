// Two load test runs side by side: per sampler, how latency (p95), throughput and the error rate
// moved, and whether any moved past the threshold the other way (for CI: bench compare exits 1).
// Pure.
import type { BenchSummary, SamplerSummary } from './bench-summary.js';

export interface CompareThresholds {
  /** The most p95 latency may rise, and throughput fall, in percent. */
  readonly percent: number;
  /** The most the error rate may rise, in percentage points. */
  readonly errorPoints: number;
  /** Latency changes smaller than this many ms are noise, never a regression. */
  readonly minLatencyMs: number;
}

export interface SamplerChange {
  readonly label: string;
  readonly before: SamplerSummary | undefined;
  readonly after: SamplerSummary | undefined;
  /** p95 after against before, in percent (undefined when either is missing). */
  readonly p95Change: number | undefined;
  readonly throughputChange: number | undefined;
  /** Error rate after minus before, in percentage points. */
  readonly errorRateChange: number | undefined;
  /** What moved past a threshold the wrong way; empty when nothing did. */
  readonly regressions: readonly string[];
}

export interface RunComparison {
  readonly changes: readonly SamplerChange[];
  readonly regressed: boolean;
}

export function compareRuns(
  before: BenchSummary,
  after: BenchSummary,
  thresholds: CompareThresholds,
): RunComparison {
  const labels = [
    ...new Set([...before.samplers.map((s) => s.label), ...after.samplers.map((s) => s.label)]),
  ];
  const byLabel = (summary: BenchSummary, label: string): SamplerSummary | undefined =>
    summary.samplers.find((s) => s.label === label);
  const changes = [
    ...labels.map((label) =>
      compareSampler(label, byLabel(before, label), byLabel(after, label), thresholds),
    ),
    compareSampler('TOTAL', before.total, after.total, thresholds),
  ];
  return { changes, regressed: changes.some((change) => change.regressions.length > 0) };
}

function compareSampler(
  label: string,
  before: SamplerSummary | undefined,
  after: SamplerSummary | undefined,
  thresholds: CompareThresholds,
): SamplerChange {
  if (!before || !after || before.requests === 0 || after.requests === 0)
    return {
      label,
      before,
      after,
      p95Change: undefined,
      throughputChange: undefined,
      errorRateChange: undefined,
      regressions: [],
    };
  const p95Change = percentChange(before.p95Ms, after.p95Ms);
  const throughputChange = percentChange(before.throughput, after.throughput);
  const errorRateChange = round(errorRate(after) - errorRate(before));
  const regressions: string[] = [];
  if (p95Change > thresholds.percent && after.p95Ms - before.p95Ms >= thresholds.minLatencyMs)
    regressions.push(`p95 ${fmt(before.p95Ms)} -> ${fmt(after.p95Ms)} ms (+${String(p95Change)}%)`);
  if (-throughputChange > thresholds.percent)
    regressions.push(
      `throughput ${String(before.throughput)} -> ${String(after.throughput)}/s (${String(throughputChange)}%)`,
    );
  if (errorRateChange > thresholds.errorPoints)
    regressions.push(
      `errors ${String(round(errorRate(before)))}% -> ${String(round(errorRate(after)))}% (+${String(errorRateChange)} points)`,
    );
  return { label, before, after, p95Change, throughputChange, errorRateChange, regressions };
}

export function errorRate(sampler: SamplerSummary): number {
  return sampler.requests === 0 ? 0 : (100 * sampler.errors) / sampler.requests;
}

function percentChange(before: number, after: number): number {
  if (before === 0) return after === 0 ? 0 : 100;
  return round((100 * (after - before)) / before);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function fmt(ms: number): string {
  return String(Math.round(ms));
}

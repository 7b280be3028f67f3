import { relative } from 'node:path';
import { EXIT, ReportedFailure, StackctlError } from '../../errors.js';
import { compareBenchRuns, recordedBenchRuns, runBench } from '../../lifecycle/bench.js';
import { runLlmBench } from '../../lifecycle/llm-bench.js';
import type { BenchLoad, BenchRecord } from '../../plan/bench.js';
import { errorRate, type RunComparison } from '../../plan/bench-compare.js';
import type { SamplerSummary } from '../../plan/bench-summary.js';
import type { LlmSummary } from '../../plan/llm-bench.js';
import { startProgress } from '../../ui/progress.js';
import { table } from '../../ui/table.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { parseDuration } from './start.js';

export interface BenchFlags {
  plan?: string;
  users: string;
  duration: string;
  ramp: string;
  target?: string;
  llm?: boolean;
  prompt: string;
  maxTokens: string;
  schema?: string;
  json?: boolean;
}

export interface BenchCompareFlags {
  threshold: string;
  errorThreshold: string;
  minLatency: string;
  schema?: string;
  json?: boolean;
}

export interface BenchRunsFlags {
  schema?: string;
  json?: boolean;
}

export async function benchAction(env: string, flags: BenchFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const load: BenchLoad = {
    users: positiveInteger('--users', flags.users),
    durationSeconds: Math.max(1, Math.round(parseDuration('--duration', flags.duration) / 1000)),
    rampSeconds: Math.round(parseDuration('--ramp', flags.ramp) / 1000),
  };
  if (flags.llm === true) {
    const progress = startProgress(ctx, `Streaming chat completions from ${env}`);
    const outcome = await runLlmBench(
      stack,
      {
        envName: env,
        target: flags.target,
        load,
        prompt: flags.prompt,
        maxTokens: positiveInteger('--max-tokens', flags.maxTokens),
      },
      ctx,
      {
        progress: (done, failed) =>
          progress.update(`${String(done)} requests${failed > 0 ? `, ${String(failed)} failed` : ''}`),
      },
    ).finally(() => progress.stop());
    if (flags.json === true) printJson(ctx.stdout, { ...outcome.record, recordPath: outcome.recordPath });
    else printLlm(outcome.record, outcome.llm, outcome.recordPath, ctx);
    if (outcome.llm.failed > 0) throw new ReportedFailure(EXIT.runtime);
    return;
  }
  const progress = startProgress(ctx, `Load test of ${env} starting`);
  const outcome = await runBench(stack, { envName: env, plan: flags.plan, target: flags.target, load }, ctx, {
    progress: (line) => {
      const running = /^summary [+=]/.test(line.trim());
      if (running && progress.animated) progress.update(`JMeter: ${line.trim()}`);
      else if (running || !progress.animated) progress.log(`  ${line.trim()}`);
    },
  }).finally(() => progress.stop());
  if (flags.json === true) printJson(ctx.stdout, { ...outcome.record, recordPath: outcome.recordPath });
  else printRun(outcome.record, outcome.recordPath, ctx);
  if (outcome.failedRequests > 0) throw new ReportedFailure(EXIT.runtime);
}

function printRun(record: BenchRecord, recordPath: string, ctx: CommandContext): void {
  printHeader(record, ctx);
  printSamplers(record, ctx);
  const results = record.results;
  if (results)
    printLine(
      ctx.stdout,
      `Results: ${results.folder}/ in the volume ${results.volume} (results.jtl, jmeter.log, summary.html${
        results.dashboard
          ? ", report/index.html: JMeter's HTML dashboard"
          : '; no JMeter dashboard: this JMeter predates it (3.0)'
      })`,
    );
  printLine(ctx.stdout, `Record: ${relative(ctx.cwd, recordPath)} (stackctl bench compare ${record.id} ...)`);
}

function printHeader(record: BenchRecord, ctx: CommandContext): void {
  const load = record.load;
  printLine(
    ctx.stdout,
    `${ctx.colors.bold(record.plan)} against ${record.environment}: ${record.target} · ${String(load.users)} users, ${String(load.durationSeconds)}s, ramp ${String(load.rampSeconds)}s · run ${record.id}`,
  );
}

function printSamplers(record: BenchRecord, ctx: CommandContext): void {
  const row = (s: SamplerSummary): string[] => [
    s.label,
    String(s.requests),
    s.errors === 0 ? '0' : `${String(s.errors)} (${percent(errorRate(s))})`,
    `${String(s.throughput)}/s`,
    String(s.p50Ms),
    String(s.p95Ms),
    String(s.p99Ms),
    String(s.maxMs),
  ];
  const lines = table(
    [
      ['SAMPLER', 'REQUESTS', 'ERRORS', 'THROUGHPUT', 'P50 MS', 'P95 MS', 'P99 MS', 'MAX MS'],
      ...record.summary.samplers.map(row),
      row(record.summary.total),
    ],
    ctx.colors.bold,
  );
  for (const line of lines) printLine(ctx.stdout, line);
  for (const sampler of record.summary.samplers)
    for (const error of sampler.topErrors)
      printLine(
        ctx.stdout,
        ctx.colors.red(
          `  ${sampler.label}: ${String(error.count)} × ${[error.code, error.message].filter(Boolean).join(' ')}`,
        ),
      );
}

function printLlm(record: BenchRecord, llm: LlmSummary, recordPath: string, ctx: CommandContext): void {
  printHeader(record, ctx);
  const rows = [
    ['requests', `${String(llm.requests)}${llm.failed > 0 ? ` (${String(llm.failed)} failed)` : ''}`],
    ['output tokens', String(llm.outputTokens)],
    ['tokens/s (all users)', String(llm.tokensPerSecond)],
    ['tokens/s per request (p50)', String(llm.requestTokensPerSecond.p50)],
    ['time to first token', `p50 ${String(llm.ttftMs.p50)} ms, p95 ${String(llm.ttftMs.p95)} ms`],
    ['inter-token latency', `p50 ${String(llm.itlMs.p50)} ms, p95 ${String(llm.itlMs.p95)} ms`],
  ];
  for (const line of table([['MEASURE', 'VALUE'], ...rows], ctx.colors.bold)) printLine(ctx.stdout, line);
  for (const error of record.summary.total.topErrors)
    printLine(
      ctx.stdout,
      ctx.colors.red(`  ${String(error.count)} × ${[error.code, error.message].filter(Boolean).join(' ')}`),
    );
  printLine(ctx.stdout, `Record: ${relative(ctx.cwd, recordPath)}`);
}

export async function benchCompareAction(
  before: string,
  after: string,
  flags: BenchCompareFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  const thresholds = {
    percent: nonNegative('--threshold', flags.threshold),
    errorPoints: nonNegative('--error-threshold', flags.errorThreshold),
    minLatencyMs: nonNegative('--min-latency', flags.minLatency),
  };
  const {
    before: a,
    after: b,
    comparison,
  } = await compareBenchRuns(stack, [before, after], thresholds, ctx.cwd);
  if (flags.json === true) printJson(ctx.stdout, { before: a.id, after: b.id, ...comparison });
  else printComparison(a, b, comparison, ctx);
  if (comparison.regressed) throw new ReportedFailure(EXIT.runtime);
}

function printComparison(
  a: BenchRecord,
  b: BenchRecord,
  comparison: RunComparison,
  ctx: CommandContext,
): void {
  printLine(ctx.stdout, `${a.id} (${a.plan}, ${a.environment}) -> ${b.id} (${b.plan}, ${b.environment})`);
  const signed = (value: number | undefined): string =>
    value === undefined ? '-' : `${value > 0 ? '+' : ''}${String(value)}%`;
  const points = (value: number | undefined): string =>
    value === undefined ? '-' : `${value > 0 ? '+' : ''}${String(value)}`;
  const rows = comparison.changes.map((change) => [
    change.label,
    change.before && change.after
      ? `${String(change.before.p95Ms)} -> ${String(change.after.p95Ms)} (${signed(change.p95Change)})`
      : change.before
        ? 'only before'
        : 'only after',
    signed(change.throughputChange),
    points(change.errorRateChange),
    change.regressions.length > 0 ? ctx.colors.red('worse') : ctx.colors.green('ok'),
  ]);
  for (const line of table(
    [['SAMPLER', 'P95 MS', 'THROUGHPUT', 'ERROR POINTS', ''], ...rows],
    ctx.colors.bold,
  ))
    printLine(ctx.stdout, line);
  for (const change of comparison.changes)
    for (const regression of change.regressions)
      printLine(ctx.stdout, ctx.colors.red(`  ${change.label}: ${regression}`));
  printLine(
    ctx.stdout,
    comparison.regressed
      ? ctx.colors.red('✖ worse past the thresholds')
      : ctx.colors.green('✔ within the thresholds'),
  );
}

export async function benchRunsAction(
  env: string,
  flags: BenchRunsFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const records = await recordedBenchRuns(stack, env);
  if (flags.json === true) {
    printJson(ctx.stdout, records);
    return;
  }
  if (records.length === 0) {
    printLine(ctx.stdout, `no load test of ${env} recorded yet (stackctl bench ${env})`);
    return;
  }
  const rows = records.map((record) => [
    record.id,
    record.plan,
    String(record.summary.total.requests),
    String(record.summary.total.errors),
    `${String(record.summary.total.throughput)}/s`,
    String(record.summary.total.p95Ms),
  ]);
  for (const line of table(
    [['RUN', 'PLAN', 'REQUESTS', 'ERRORS', 'THROUGHPUT', 'P95 MS'], ...rows],
    ctx.colors.bold,
  ))
    printLine(ctx.stdout, line);
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new StackctlError('E_USAGE', `${flag} "${text}" is not a positive whole number`, {
      hint: `${flag} 10`,
    });
  return value;
}

function nonNegative(flag: string, text: string): number {
  const value = Number(text.replace(/%$/, ''));
  if (!Number.isFinite(value) || value < 0)
    throw new StackctlError('E_USAGE', `${flag} "${text}" is not a number of 0 or more`, {
      hint: `${flag} 10`,
    });
  return value;
}

function percent(value: number): string {
  return `${String(Math.round(value * 10) / 10)}%`;
}

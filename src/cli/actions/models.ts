import { EXIT, ReportedFailure } from '../../errors.js';
import { fitModel, type ModelFitOutcome, type ModelFitRequest } from '../../lifecycle/models.js';
import { resolveRun } from '../../lifecycle/run.js';
import type { FitFix, FitResult } from '../../plan/model-fit.js';
import { startProgress } from '../../ui/progress.js';
import { bytesText, transferLine } from '../../ui/transfer.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export interface ModelsPullFlags {
  env: string;
  schema?: string;
  json?: boolean;
}

/** Downloads the model into the environment's cache volume, with a progress line on a terminal. */
export async function modelsPullAction(
  model: string | undefined,
  flags: ModelsPullFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, flags.env);
  const { pullModel } = await import('../../lifecycle/model-pull.js');
  let started = Date.now();
  const progress = startProgress(ctx, `Pulling ${model ?? `the model of ${flags.env}`}`);
  let lastDraw = 0;
  try {
    const outcome = await pullModel(stack, { envName: flags.env, model }, ctx, {
      planned: (plan) => {
        const line = `${plan.repo}@${plan.sha.slice(0, 12)}: ${plan.files} files, ${plan.present} already in the cache, ${bytesText(plan.bytesToFetch)} to fetch`;
        progress.log(line);
        progress.update(`Pulling ${plan.repo}`);
        started = Date.now();
      },
      progress: ({ file, doneBytes, totalBytes }) => {
        const now = Date.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        progress.update(`${file} ${transferLine({ doneBytes, totalBytes, elapsedMs: now - started })}`);
      },
      fileDone: (file, bytes) => {
        progress.log(`  ${file} (${bytesText(bytes)})`);
      },
      retrying: (file, reason) => progress.log(ctx.colors.yellow(`⚠ ${file}: ${reason}; resuming`)),
    });
    progress.stop();
    if (flags.json === true) {
      printJson(ctx.stdout, outcome);
      return;
    }
    const downloaded = outcome.files.filter((file) => file.state === 'downloaded').length;
    printLine(
      ctx.stdout,
      `${ctx.colors.green('✔')} ${outcome.repo}@${outcome.sha.slice(0, 12)} is in volume ${outcome.volume}: ${downloaded} file${downloaded === 1 ? '' : 's'} downloaded (${bytesText(outcome.downloadedBytes)}), ${outcome.files.length - downloaded} already there`,
    );
  } finally {
    progress.stop();
  }
}

export interface ModelsFitFlags {
  env?: string;
  schema?: string;
  gpus?: number;
  vram?: number;
  tp?: number;
  maxModelLen?: number;
  gpuMemoryUtilization?: number;
  kvDtype?: 'auto' | 'fp8';
  json?: boolean;
}

export async function modelsFitAction(
  model: string | undefined,
  flags: ModelsFitFlags,
  ctx: CommandContext,
): Promise<void> {
  const request: ModelFitRequest = {
    model,
    gpus: flags.gpus,
    vramGiB: flags.vram,
    tensorParallel: flags.tp,
    maxModelLen: flags.maxModelLen,
    gpuMemoryUtilization: flags.gpuMemoryUtilization,
    kvCacheDtype: flags.kvDtype,
  };
  let environment;
  if (flags.env !== undefined) {
    const stack = await loadStack(flags.schema, ctx);
    requireEnvironment(stack.file, flags.env);
    const run = await resolveRun(stack, { envName: flags.env });
    environment = {
      model: run.model(run.likelyGpu.selection),
      root: stack.root,
      hfToken: run.store?.secrets['HF_TOKEN']?.value,
    };
  }
  const outcome = await fitModel(request, environment, ctx);
  if (flags.json === true) printJson(ctx.stdout, fitJson(outcome));
  else for (const line of describeFit(outcome, ctx)) printLine(ctx.stdout, line);
  if (outcome.result.verdict === 'will-not-start') throw new ReportedFailure(EXIT.preflight);
}

function fitJson(outcome: ModelFitOutcome): Record<string, unknown> {
  const { result, shape, files, settings } = outcome;
  return {
    model: outcome.model,
    location: files.location,
    revision: files.revision,
    architecture: shape.architecture,
    weightsBytes: files.weights.bytes,
    engine: settings.engine,
    fits: result.fits,
    verdict: result.verdict,
    reasons: result.reasons,
    tensorParallel: result.tensorParallel,
    gpuMemoryUtilization: settings.gpuMemoryUtilization,
    kvCacheDtype: settings.kvCacheDtype,
    perGpu: result.perGpu,
    gpus: result.gpus,
    gpuSource: outcome.gpuSource,
    kvBytesPerToken: result.kvBytesPerToken,
    kvTokens: result.kvTokens,
    longestContext: result.longestContext,
    maxModelLen: result.maxModelLen,
    maxConcurrency: result.maxConcurrency,
    fix: result.fix,
    alternatives: result.alternatives,
    variables: variablesFor(result.fix, outcome),
  };
}

/** The fix as the schema variables that feed those flags, where the environment's command has one. */
function variablesFor(fix: FitFix, outcome: ModelFitOutcome): Record<string, number | string | boolean> {
  const variables: Record<string, number | string | boolean> = {};
  for (const [flag, value] of Object.entries(fix)) {
    const variable = outcome.vllm?.flagVariables[flag];
    if (variable) variables[variable] = value;
  }
  return variables;
}

function describeFit(outcome: ModelFitOutcome, ctx: CommandContext): string[] {
  const { colors } = ctx;
  const { result, shape, files, settings } = outcome;
  const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(2);
  const lines = [
    `${colors.bold(outcome.model)}: ${shape.architecture}, ${gib(files.weights.bytes)} GiB of weights in ${files.shards.length} file${files.shards.length === 1 ? '' : 's'}${files.revision ? ` (revision ${files.revision.slice(0, 12)})` : ''}`,
    colors.dim(
      `vLLM ${settings.engine.toUpperCase()}: tensor parallel ${result.tensorParallel}, max-model-len ${result.maxModelLen}, gpu-memory-utilization ${settings.gpuMemoryUtilization}, KV cache ${settings.kvCacheDtype}${outcome.gpuSource === 'given' ? ', GPUs as given' : ''}`,
    ),
  ];
  for (const gpu of result.gpus) {
    const others =
      gpu.otherProcessesGiB > 0.05 ? `, other processes ${gpu.otherProcessesGiB.toFixed(2)}` : '';
    lines.push(
      `GPU ${gpu.index} ${gpu.name}: ${gpu.totalGiB.toFixed(2)} GiB; budget ${gpu.budgetGiB.toFixed(2)} = weights ${gpu.weightsGiB.toFixed(2)} + runtime ${gpu.runtimeGiB.toFixed(2)}${others} + KV cache ${gpu.kvCacheGiB.toFixed(2)}`,
    );
  }
  lines.push(
    `KV cache: ${result.kvBytesPerToken} bytes per token per GPU, ${result.kvTokens} tokens; longest request ${result.longestContext}; ${result.maxConcurrency}x concurrency at ${result.maxModelLen} tokens`,
  );
  lines.push(...verdictLines(result, outcome, ctx));
  return lines;
}

function verdictLines(result: FitResult, outcome: ModelFitOutcome, ctx: CommandContext): string[] {
  const { colors } = ctx;
  if (result.verdict === 'fits') return [colors.green('✔ fits')];
  const head =
    result.verdict === 'will-not-start'
      ? colors.red('✖ will not start')
      : colors.yellow('⚠ fits only with a change');
  const lines = [head, ...result.reasons.map((reason) => `  ${reason}`)];
  const [first, ...others] = result.alternatives;
  if (first) lines.push(`  fix: ${fixText(first, outcome)}`);
  if (others.length > 0)
    lines.push(colors.dim(`  or: ${others.map((fix) => fixText(fix, outcome)).join('; ')}`));
  if (!first) lines.push('  no single change makes it fit: a smaller or quantized model, or more GPUs');
  return lines;
}

function fixText(fix: FitFix, outcome: ModelFitOutcome): string {
  return Object.entries(fix)
    .map(([flag, value]) => {
      const variable = outcome.vllm?.flagVariables[flag];
      const asFlag = value === true ? `--${flag}` : `--${flag} ${String(value)}`;
      return variable ? `${variable}=${String(value)} (${asFlag})` : asFlag;
    })
    .join(' ');
}

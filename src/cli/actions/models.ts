import { EXIT, ReportedFailure } from '../../errors.js';
import { fitModel, type ModelFitOutcome, type ModelFitRequest } from '../../lifecycle/models.js';
import { resolveRun } from '../../lifecycle/run.js';
import type { FitFix, FitResult } from '../../plan/model-fit.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

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

// Will vLLM start with this model on these GPUs, and how much context will it hold? The estimate
// follows vLLM's own startup accounting (docs/model-fit.md): per GPU, the budget is total memory ×
// gpu-memory-utilization; the weights (exact bytes from the safetensors headers, split across
// tensor-parallel ranks), the CUDA context and the activation peak of vLLM's profiling run are taken
// from it, and what is left holds the KV cache. Each card is judged alone, never summed.
import type { ModelShape } from '../host/hf-model.js';

export const GIB = 2 ** 30;
/** Tokens per KV cache block (vLLM's default block size). */
export const KV_BLOCK_TOKENS = 16;
/** CUDA context, cuBLAS and (with tensor parallelism) NCCL buffers: vLLM's "non-torch memory". */
const CONTEXT_BYTES = 0.35 * GIB;
const TENSOR_PARALLEL_CONTEXT_BYTES = 0.25 * GIB;
/** CUDA graphs are captured after the KV cache is allocated, outside the budget. */
const CUDA_GRAPH_BYTES = 0.5 * GIB;
/** Memory nvidia-smi counts in a card's total that CUDA never hands out (an RTX 3090's 24576 MiB is 23.58 GiB to torch). */
const DRIVER_RESERVED_MIB = 430;
/** The highest gpu-memory-utilization stackctl suggests. */
const MAX_SUGGESTED_UTILIZATION = 0.95;

export type KvCacheDtype = 'auto' | 'fp8';
/** vLLM's engine generation: V0 (before 0.8) profiles a whole max-model-len prefill; V1 chunks it. */
export type VllmEngine = 'v0' | 'v1';

export interface FitGpu {
  readonly index: number;
  readonly name: string;
  readonly totalBytes: number;
  /** Memory other processes already hold on this card. */
  readonly usedBytes: number;
}

export interface FitSettings {
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
  /** Null: the model's own longest context, as vLLM takes it. */
  readonly maxModelLen: number | null;
  readonly gpuMemoryUtilization: number;
  readonly kvCacheDtype: KvCacheDtype;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number | null;
  readonly enforceEager: boolean;
  readonly engine: VllmEngine;
}

export interface FitInput {
  readonly model: ModelShape;
  /** Every tensor of the checkpoint, in bytes. */
  readonly weightsBytes: number;
  /** The host's GPUs in index order; vLLM takes the first tensor-parallel × pipeline-parallel. */
  readonly gpus: readonly FitGpu[];
  readonly settings: FitSettings;
}

export interface GpuBudget {
  readonly index: number;
  readonly name: string;
  readonly totalGiB: number;
  readonly otherProcessesGiB: number;
  readonly budgetGiB: number;
  readonly weightsGiB: number;
  /** CUDA context plus the activation peak of the profiling run. */
  readonly runtimeGiB: number;
  readonly activationGiB: number;
  readonly kvCacheGiB: number;
  /** Memory outside the budget, where CUDA graphs are captured. */
  readonly outsideBudgetGiB: number;
}

export type FitVerdict = 'fits' | 'fits-with-change' | 'will-not-start';
export type FitFix = Readonly<Record<string, number | string | boolean>>;

export interface FitResult {
  readonly fits: boolean;
  readonly verdict: FitVerdict;
  /** Why it will not start, or what the change is for; empty when it fits as it is. */
  readonly reasons: readonly string[];
  readonly tensorParallel: number;
  readonly maxModelLen: number;
  /** The tightest card's budget. */
  readonly perGpu: GpuBudget;
  readonly gpus: readonly GpuBudget[];
  /** KV cache bytes one token takes on one GPU. */
  readonly kvBytesPerToken: number;
  /** Tokens the KV cache holds, in whole blocks (vLLM's "GPU KV cache size"). */
  readonly kvTokens: number;
  /** The longest single request the cache holds, up to the model's own limit. */
  readonly longestContext: number;
  /** Requests of max-model-len tokens the cache holds at once, as vLLM logs it. */
  readonly maxConcurrency: number;
  /** The smallest change that makes it start (vLLM flag names, without dashes). */
  readonly fix: FitFix;
  /** Every single change that would make it start, the fix first. */
  readonly alternatives: readonly FitFix[];
}

/** One card's accounting in bytes; GpuBudget is its rounded view. */
interface CardBytes {
  readonly view: GpuBudget;
  readonly total: number;
  readonly others: number;
  readonly budget: number;
  readonly weights: number;
  readonly runtime: number;
  readonly kv: number;
}

interface Estimate {
  readonly maxModelLen: number;
  readonly cards: CardBytes[];
  readonly tightest: CardBytes;
  readonly fullBytesPerToken: number;
  readonly slidingBytesPerToken: number;
  readonly kvBytes: number;
  readonly kvTokens: number;
  readonly longestContext: number;
  readonly maxConcurrency: number;
  readonly problems: string[];
  /** The card that is short, with the bytes it lacks, when the weights or the context do not fit. */
  readonly shortBy: number;
}

/** Plans vLLM's memory on these GPUs and judges whether it starts, with the fix when it does not. */
export function planModelFit(input: FitInput): FitResult {
  const estimate = estimateFit(input);
  const { settings } = input;
  let verdict: FitVerdict = estimate.problems.length > 0 ? 'will-not-start' : 'fits';
  const reasons = [...estimate.problems];
  let alternatives: FitFix[] = [];
  if (verdict === 'will-not-start') {
    alternatives = fixesFor(input, estimate);
  } else {
    const headroom = graphHeadroomFix(input, estimate);
    if (headroom) {
      verdict = 'fits-with-change';
      reasons.push(headroom.reason);
      alternatives = [headroom.fix, { 'enforce-eager': true }];
    }
  }
  return {
    fits: verdict === 'fits',
    verdict,
    reasons,
    tensorParallel: settings.tensorParallel,
    maxModelLen: estimate.maxModelLen,
    perGpu: estimate.tightest.view,
    gpus: estimate.cards.map((card) => card.view),
    kvBytesPerToken: estimate.fullBytesPerToken + estimate.slidingBytesPerToken,
    kvTokens: estimate.kvTokens,
    longestContext: estimate.longestContext,
    maxConcurrency: estimate.maxConcurrency,
    fix: alternatives[0] ?? {},
    alternatives,
  };
}

function estimateFit(input: FitInput): Estimate {
  const { model, settings } = input;
  const problems: string[] = [];
  const ranks = settings.tensorParallel * settings.pipelineParallel;
  let maxModelLen = settings.maxModelLen ?? model.maxContext ?? 4096;
  if (model.maxContext !== null && maxModelLen > model.maxContext) {
    problems.push(
      `max-model-len ${maxModelLen} is longer than the ${model.maxContext} tokens the model was built for (vLLM refuses it)`,
    );
    maxModelLen = model.maxContext;
  }
  if (model.attentionHeads % settings.tensorParallel !== 0)
    problems.push(
      `the model's ${model.attentionHeads} attention heads do not split evenly across tensor-parallel size ${settings.tensorParallel}`,
    );
  const cards = input.gpus.slice(0, ranks);
  if (cards.length < ranks)
    problems.push(
      `tensor-parallel × pipeline-parallel needs ${ranks} GPUs; this host has ${input.gpus.length}`,
    );

  const { full, sliding } = kvBytesPerToken(model, settings);
  const cardBytes = cards.map((gpu) => budgetOf(gpu, input, maxModelLen));
  const tightest =
    cardBytes.reduce<CardBytes | undefined>(
      (low, card) => (low === undefined || card.kv < low.kv ? card : low),
      undefined,
    ) ?? emptyCard();
  const kvBytes = Math.max(0, tightest.kv);
  const window = model.attention.window ?? 0;
  const needFor = (tokens: number): number => full * tokens + sliding * Math.min(window, tokens);
  const kvTokens = wholeBlocks(kvBytes / (full + sliding));
  const longest = longestContext(kvBytes, full, sliding, window, model.maxContext);
  const maxConcurrency = round(kvBytes / needFor(maxModelLen), 2);
  let shortBy = 0;

  if (cards.length === ranks) {
    const others = (card: CardBytes): number => (settings.engine === 'v0' ? card.others : 0);
    const overWeights = cardBytes.find((card) => card.weights > card.budget - others(card));
    const refused =
      settings.engine === 'v1' ? cardBytes.find((card) => card.others > card.total - card.budget) : undefined;
    if (refused)
      problems.push(
        `other processes hold ${gib(refused.others)} GiB of GPU ${refused.view.index}, more than the ${gib(refused.total - refused.budget)} GiB outside vLLM's budget: vLLM refuses to start with less free memory than its budget`,
      );
    if (overWeights) {
      problems.push(
        `the weights (${gib(overWeights.weights)} GiB per GPU) do not fit GPU ${overWeights.view.index}'s budget of ${gib(overWeights.budget)} GiB`,
      );
      shortBy =
        overWeights.weights +
        overWeights.runtime +
        others(overWeights) -
        overWeights.budget +
        needFor(maxModelLen);
    } else if (tightest.kv <= 0) {
      problems.push(
        `no memory is left for the KV cache on GPU ${tightest.view.index} (${gib(tightest.kv)} GiB after weights and runtime): vLLM stops with "No available memory for the cache blocks"`,
      );
      shortBy = -tightest.kv + needFor(maxModelLen);
    } else if (longest < maxModelLen) {
      problems.push(
        `max-model-len ${maxModelLen} is more than the ${longest} tokens the KV cache holds (${gib(tightest.kv)} GiB on GPU ${tightest.view.index})`,
      );
      shortBy = needFor(maxModelLen) - kvBytes;
    }
  }
  return {
    maxModelLen,
    cards: cardBytes,
    tightest,
    fullBytesPerToken: full,
    slidingBytesPerToken: sliding,
    kvBytes,
    kvTokens,
    longestContext: longest,
    maxConcurrency: Number.isFinite(maxConcurrency) ? maxConcurrency : 0,
    problems,
    shortBy,
  };
}

/** Bytes one token's keys and values take on one GPU, for full and for sliding-window layers. */
export function kvBytesPerToken(
  model: ModelShape,
  settings: Pick<FitSettings, 'tensorParallel' | 'pipelineParallel' | 'kvCacheDtype'>,
): { full: number; sliding: number } {
  const elementBytes = settings.kvCacheDtype === 'fp8' ? 1 : model.dtypeBytes;
  // KV heads split across tensor-parallel ranks; with fewer heads than ranks each rank keeps one.
  const perLayer = model.latentAttention
    ? model.kvElementsPerLayer
    : (model.kvElementsPerLayer / model.kvHeads) *
      Math.max(1, Math.ceil(model.kvHeads / settings.tensorParallel));
  const perStage = (layers: number): number => (layers * perLayer * elementBytes) / settings.pipelineParallel;
  return { full: perStage(model.attention.full), sliding: perStage(model.attention.sliding) };
}

/** The bytes of a card CUDA (and so vLLM) sees, from the total nvidia-smi prints. */
export function cudaVisibleBytes(smiTotalMiB: number): number {
  return Math.max(0, smiTotalMiB - DRIVER_RESERVED_MIB) * 2 ** 20;
}

/** The longest single request `kvBytes` of KV cache holds on one GPU, in whole blocks. */
export function longestContextIn(
  model: ModelShape,
  settings: Pick<FitSettings, 'tensorParallel' | 'pipelineParallel' | 'kvCacheDtype'>,
  kvBytes: number,
): number {
  const { full, sliding } = kvBytesPerToken(model, settings);
  return longestContext(kvBytes, full, sliding, model.attention.window ?? 0, model.maxContext);
}

/** Tokens vLLM's profiling run pushes through at once: its activation peak grows with them. */
export function profileTokens(settings: FitSettings, maxModelLen: number): number {
  if (settings.maxNumBatchedTokens !== null) return settings.maxNumBatchedTokens;
  if (settings.engine === 'v1') return 8192;
  // V0 prefills a whole max-model-len sequence, except past 32k tokens where it chunks by 512.
  return maxModelLen > 32_768 ? 512 : Math.max(maxModelLen, 2048);
}

function budgetOf(gpu: FitGpu, input: FitInput, maxModelLen: number): CardBytes {
  const { model, settings, weightsBytes } = input;
  const tp = settings.tensorParallel;
  const tokens = profileTokens(settings, maxModelLen);
  // Per token at the MLP's peak: the residual stream and its normed copy (hidden, replicated) and
  // the gate/up projections and their product (intermediate, split across ranks); plus the logits
  // of the profiled sequences in float32.
  const activationBytes =
    tokens * (3 * model.hiddenSize + (3 * model.intermediateSize) / tp) * 2 +
    Math.min(settings.maxNumSeqs, tokens) * model.vocabSize * 4;
  const contextBytes = CONTEXT_BYTES + (tp > 1 ? TENSOR_PARALLEL_CONTEXT_BYTES : 0);
  const budgetBytes = gpu.totalBytes * settings.gpuMemoryUtilization;
  const weights = weightsBytes / (tp * settings.pipelineParallel);
  const runtime = contextBytes + activationBytes;
  // V0 measures its peak as all memory in use, other processes' included; V1 counts only its own.
  const others = settings.engine === 'v0' ? gpu.usedBytes : 0;
  const kv = budgetBytes - others - weights - runtime;
  const view = {
    index: gpu.index,
    name: gpu.name,
    totalGiB: round(gpu.totalBytes / GIB, 2),
    otherProcessesGiB: round(gpu.usedBytes / GIB, 2),
    budgetGiB: round(budgetBytes / GIB, 2),
    weightsGiB: round(weights / GIB, 2),
    runtimeGiB: round(runtime / GIB, 2),
    activationGiB: round(activationBytes / GIB, 2),
    kvCacheGiB: round(kv / GIB, 2),
    outsideBudgetGiB: round((gpu.totalBytes - budgetBytes) / GIB, 2),
  };
  return { view, total: gpu.totalBytes, others: gpu.usedBytes, budget: budgetBytes, weights, runtime, kv };
}

function longestContext(
  kvBytes: number,
  full: number,
  sliding: number,
  window: number,
  modelMax: number | null,
): number {
  const cap = modelMax ?? Number.MAX_SAFE_INTEGER;
  if (kvBytes <= 0) return 0;
  let tokens: number;
  if (full === 0) tokens = sliding * window <= kvBytes ? cap : Math.floor(kvBytes / sliding);
  else if (kvBytes / (full + sliding) <= window) tokens = kvBytes / (full + sliding);
  else tokens = (kvBytes - sliding * window) / full;
  return Math.min(cap, wholeBlocks(tokens));
}

function wholeBlocks(tokens: number): number {
  return Number.isFinite(tokens) ? Math.max(0, Math.floor(tokens / KV_BLOCK_TOKENS) * KV_BLOCK_TOKENS) : 0;
}

/** Tokens `kvBytes` of KV cache hold on one GPU, in whole blocks (what vLLM logs as its cache size). */
export function kvTokensIn(
  model: ModelShape,
  settings: Pick<FitSettings, 'tensorParallel' | 'pipelineParallel' | 'kvCacheDtype'>,
  kvBytes: number,
): number {
  const { full, sliding } = kvBytesPerToken(model, settings);
  return wholeBlocks(kvBytes / (full + sliding));
}

/** Each single change that makes it start, the least disruptive first. */
function fixesFor(input: FitInput, estimate: Estimate): FitFix[] {
  const { settings } = input;
  const fixes: FitFix[] = [];
  const startsWith = (change: Partial<FitSettings>): boolean =>
    estimateFit({ ...input, settings: { ...settings, ...change } }).problems.length === 0;
  const weightsOver = estimate.cards.some(
    (card) => card.weights > card.budget - (settings.engine === 'v0' ? card.others : 0),
  );

  if (
    settings.maxModelLen !== null &&
    input.model.maxContext !== null &&
    settings.maxModelLen > input.model.maxContext
  ) {
    const change = { maxModelLen: input.model.maxContext };
    if (startsWith(change)) fixes.push({ 'max-model-len': input.model.maxContext });
  }
  const utilization = neededUtilization(input, estimate);
  if (utilization !== null && startsWith({ gpuMemoryUtilization: utilization }))
    fixes.push({ 'gpu-memory-utilization': utilization });
  if (
    !weightsOver &&
    settings.kvCacheDtype === 'auto' &&
    input.model.dtypeBytes > 1 &&
    startsWith({ kvCacheDtype: 'fp8' })
  )
    fixes.push({ 'kv-cache-dtype': 'fp8' });
  const available = Math.floor(input.gpus.length / settings.pipelineParallel);
  for (let tp = settings.tensorParallel + 1; tp <= available; tp += 1) {
    if (input.model.attentionHeads % tp !== 0) continue;
    if (startsWith({ tensorParallel: tp })) {
      fixes.push({ 'tensor-parallel-size': tp });
      break;
    }
  }
  if (
    !weightsOver &&
    estimate.longestContext >= KV_BLOCK_TOKENS &&
    startsWith({ maxModelLen: estimate.longestContext })
  )
    fixes.push({ 'max-model-len': estimate.longestContext });
  return fixes;
}

/** The gpu-memory-utilization that covers what the tightest card lacks, if one up to 0.95 does. */
function neededUtilization(input: FitInput, estimate: Estimate): number | null {
  if (estimate.shortBy <= 0) return null;
  let needed = 0;
  for (const card of estimate.cards) {
    const lacking = estimate.shortBy - (card.kv - estimate.tightest.kv);
    needed = Math.max(needed, input.settings.gpuMemoryUtilization + lacking / card.total);
  }
  const rounded = Math.ceil(needed * 100 + 1e-9) / 100;
  return rounded <= MAX_SUGGESTED_UTILIZATION ? rounded : null;
}

/** When vLLM leaves too little outside its budget for CUDA graphs (or other processes): the change. */
function graphHeadroomFix(input: FitInput, estimate: Estimate): { reason: string; fix: FitFix } | null {
  if (input.settings.enforceEager) return null;
  const short = estimate.cards.find(
    (card) =>
      card.total - card.budget - (input.settings.engine === 'v0' ? 0 : card.others) < CUDA_GRAPH_BYTES,
  );
  if (!short) return null;
  const othersOutside = input.settings.engine === 'v0' ? 0 : short.others;
  const utilization =
    Math.floor(((short.total - CUDA_GRAPH_BYTES - othersOutside) / short.total) * 100) / 100;
  const lowered = estimateFit({
    ...input,
    settings: { ...input.settings, gpuMemoryUtilization: utilization },
  });
  const fix: Record<string, number> = { 'gpu-memory-utilization': utilization };
  if (lowered.kvTokens < lowered.maxModelLen && lowered.kvTokens >= KV_BLOCK_TOKENS)
    fix['max-model-len'] = lowered.kvTokens;
  return {
    reason: `only ${gib(short.total - short.budget - othersOutside)} GiB of GPU ${short.view.index} is free outside the budget, less than the ~${gib(CUDA_GRAPH_BYTES)} GiB vLLM's CUDA graphs take after the KV cache is allocated (it may run out of memory there)`,
    fix,
  };
}

function emptyCard(): CardBytes {
  const view = {
    index: -1,
    name: 'none',
    totalGiB: 0,
    otherProcessesGiB: 0,
    budgetGiB: 0,
    weightsGiB: 0,
    runtimeGiB: 0,
    activationGiB: 0,
    kvCacheGiB: 0,
    outsideBudgetGiB: 0,
  };
  return { view, total: 0, others: 0, budget: 0, weights: 0, runtime: 0, kv: 0 };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function gib(bytes: number): string {
  return (bytes / GIB).toFixed(2);
}

// models fit against what vLLM itself logged when it started these models (test/fixtures/vllm).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseModelConfig,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
} from '../../src/host/hf-model.js';
import {
  GIB,
  cudaVisibleBytes,
  kvBytesPerToken,
  kvTokensIn,
  longestContextIn,
  planModelFit,
  type FitSettings,
} from '../../src/plan/model-fit.js';
import { VLLM_DEFAULTS } from '../../src/plan/vllm-settings.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { decoderTensors, safetensorsHeader, tensorBytes } from '../helpers/safetensors.js';

const VLLM = join(REPO_ROOT, 'test', 'fixtures', 'vllm');

async function fixture(path: string): Promise<string> {
  return readFile(join(VLLM, path), 'utf8');
}

async function model(name: string) {
  const text = await fixture(`models/${name}/config.json`);
  return { shape: parseModelConfig(text), config: JSON.parse(text) as Record<string, unknown> };
}

/** A number the log prints after `label` (GiB, tokens, blocks), commas dropped. */
function logged(log: string, label: RegExp): number {
  const match = label.exec(log);
  if (!match?.[1]) throw new Error(`log has no ${String(label)}`);
  return Number(match[1].replace(/,/g, ''));
}

// vLLM's defaults on the V0 engine those logs came from.
const V0_DEFAULTS: FitSettings = { ...VLLM_DEFAULTS, engine: 'v0' };

describe('the KV cache per token', () => {
  it('is what vLLM allocated for Qwen3-14B: 6.51 GiB held 42,656 tokens, 1.30x at 32,768', async () => {
    const log = await fixture('logs/lmcache-1739-qwen3-14b.txt');
    const { shape } = await model('qwen3-14b');
    // 2 (K and V) × 40 layers × 8 KV heads × 128 × 2 bytes.
    expect(kvBytesPerToken(shape, { tensorParallel: 1, pipelineParallel: 1, kvCacheDtype: 'auto' })).toEqual({
      full: 163_840,
      sliding: 0,
    });
    const kvGiB = logged(log, /Available KV cache memory: ([\d.]+) GiB/);
    const tokens = kvTokensIn(
      shape,
      { tensorParallel: 1, pipelineParallel: 1, kvCacheDtype: 'auto' },
      kvGiB * GIB,
    );
    expect(tokens).toBe(logged(log, /GPU KV cache size: ([\d,]+) tokens/));
    expect(Math.floor((tokens / 32_768) * 100) / 100).toBe(
      logged(log, /32,768 tokens per request: ([\d.]+)x/),
    );
  });

  it('halves with an fp8 cache and splits across tensor-parallel ranks (one KV head kept per rank at least)', async () => {
    const { shape } = await model('llama-3.1-8b-instruct');
    const per = (tensorParallel: number, kvCacheDtype: 'auto' | 'fp8') =>
      kvBytesPerToken(shape, { tensorParallel, pipelineParallel: 1, kvCacheDtype }).full;
    expect(per(1, 'auto')).toBe(131_072);
    expect(per(1, 'fp8')).toBe(65_536);
    expect(per(2, 'auto')).toBe(65_536);
    expect(per(16, 'auto')).toBe(per(8, 'auto'));
  });
});

describe('models fit against a real startup (Llama-3.1-8B-Instruct on an RTX 3090, vLLM issue 10517)', () => {
  async function llamaOn3090(maxModelLen: number) {
    const { shape, config } = await model('llama-3.1-8b-instruct');
    const weights = parseSafetensorsHeader(
      safetensorsHeader(decoderTensors(config)).subarray(8).toString('utf8'),
      'model.safetensors',
    );
    return planModelFit({
      model: shape,
      weightsBytes: weights.bytes,
      gpus: [
        { index: 0, name: 'NVIDIA GeForce RTX 3090', totalBytes: cudaVisibleBytes(24_576), usedBytes: 0 },
      ],
      settings: { ...V0_DEFAULTS, maxModelLen },
    });
  }

  it('sees the card as torch does and the weights as vLLM loaded them', async () => {
    const log = await fixture('logs/vllm-10517-llama-3.1-8b-3090-20k.txt');
    const plan = await llamaOn3090(20_000);
    expect(plan.perGpu.totalGiB).toBeCloseTo(logged(log, /total_gpu_memory=([\d.]+)GiB/), 2);
    const loaded = logged(log, /Loading model weights took ([\d.]+) GB/);
    expect(Math.abs(plan.perGpu.weightsGiB - loaded) / loaded).toBeLessThan(0.01);
  });

  it('at 20000 tokens: fits, the KV cache within 10% of the 3.81 GiB vLLM logged, and its concurrency', async () => {
    const log = await fixture('logs/vllm-10517-llama-3.1-8b-3090-20k.txt');
    const plan = await llamaOn3090(20_000);
    const kvLogged = logged(log, /kv_cache_size=([\d.]+)GiB/);
    expect(Math.abs(plan.perGpu.kvCacheGiB - kvLogged) / kvLogged).toBeLessThan(0.1);
    const tokensLogged = logged(log, /GPU blocks: (\d+)/) * 16;
    expect(Math.abs(plan.kvTokens - tokensLogged) / tokensLogged).toBeLessThan(0.1);
    const concurrency = logged(log, /20000 tokens per request: ([\d.]+)x/);
    expect(Math.abs(plan.maxConcurrency - concurrency) / concurrency).toBeLessThan(0.1);
    expect(plan).toMatchObject({ fits: true, verdict: 'fits', maxModelLen: 20_000, fix: {} });
  });

  it('at 29000 tokens: will not start, as vLLM refused, with a fix that does start', async () => {
    const log = await fixture('logs/vllm-10517-llama-3.1-8b-3090-29k.txt');
    const plan = await llamaOn3090(29_000);
    const kvLogged = logged(log, /kv_cache_size=([\d.]+)GiB/);
    expect(Math.abs(plan.perGpu.kvCacheGiB - kvLogged) / kvLogged).toBeLessThan(0.1);
    const capacity = logged(log, /stored in KV cache \((\d+)\)/);
    expect(Math.abs(plan.kvTokens - capacity) / capacity).toBeLessThan(0.1);
    expect(plan.fits).toBe(false);
    expect(plan.verdict).toBe('will-not-start');
    expect(plan.reasons.join('\n')).toMatch(
      /max-model-len 29000 is more than the \d+ tokens the KV cache holds/,
    );
    // Raising the budget is the least disruptive change; a shorter context always works.
    expect(plan.fix).toEqual({ 'gpu-memory-utilization': expect.any(Number) as number });
    expect(plan.alternatives).toContainEqual({ 'kv-cache-dtype': 'fp8' });
    expect(plan.alternatives).toContainEqual({ 'max-model-len': plan.longestContext });
    const utilization = plan.fix['gpu-memory-utilization'] as number;
    expect(utilization).toBeGreaterThan(0.9);
    expect(utilization).toBeLessThanOrEqual(0.95);
  });
});

describe('models fit where vLLM stopped for lack of memory (Qwen2.5-7B 4-bit on an 8 GiB RTX 4060, issue 13882)', () => {
  it('will not start: nothing left for the KV cache; the fix is a larger budget', async () => {
    const log = await fixture('logs/vllm-13882-qwen2.5-7b-bnb-4060.txt');
    const { shape } = await model('qwen2.5-7b-instruct');
    expect(shape.attention).toEqual({ full: 28, sliding: 0, window: null });
    const plan = planModelFit({
      model: shape,
      weightsBytes: logged(log, /Loading model weights took ([\d.]+) GB/) * GIB,
      gpus: [{ index: 0, name: 'NVIDIA GeForce RTX 4060', totalBytes: 8 * GIB, usedBytes: 0 }],
      settings: { ...V0_DEFAULTS, gpuMemoryUtilization: 0.7, maxModelLen: logged(log, /max_seq_len=(\d+)/) },
    });
    expect(plan.verdict).toBe('will-not-start');
    expect(logged(log, /KV Cache is (-[\d.]+)GiB/)).toBeLessThan(0);
    expect(plan.perGpu.kvCacheGiB).toBeLessThan(0);
    expect(plan.reasons.join('\n')).toMatch(/no memory is left for the KV cache on GPU 0/);
    expect(plan.fix['gpu-memory-utilization']).toBeGreaterThan(0.7);
  });
});

describe('models fit on the seeds dual RTX 3090', () => {
  const threeNinety = (index: number, usedMiB = 0) => ({
    index,
    name: 'NVIDIA GeForce RTX 3090',
    totalBytes: cudaVisibleBytes(24_576),
    usedBytes: usedMiB * 2 ** 20,
  });

  it('a 14B model in bfloat16 does not fit one card; tensor parallel 2 is the fix, per card, never summed', async () => {
    const { shape, config } = await model('qwen3-14b');
    const weightsBytes = tensorBytes(decoderTensors(config));
    const single = planModelFit({
      model: shape,
      weightsBytes,
      gpus: [threeNinety(0), threeNinety(1)],
      settings: { ...V0_DEFAULTS, maxModelLen: 8192, engine: 'v1' },
    });
    expect(single.verdict).toBe('will-not-start');
    expect(single.reasons[0]).toMatch(/the weights \(27\.\d+ GiB per GPU\) do not fit GPU 0's budget/);
    expect(single.fix).toEqual({ 'tensor-parallel-size': 2 });
    expect(single.gpus).toHaveLength(1);

    const split = planModelFit({
      model: shape,
      weightsBytes,
      gpus: [threeNinety(0), threeNinety(1)],
      settings: { ...V0_DEFAULTS, maxModelLen: 8192, engine: 'v1', tensorParallel: 2 },
    });
    expect(split.verdict).toBe('fits');
    expect(split.gpus).toHaveLength(2);
    expect(split.perGpu.weightsGiB).toBeCloseTo(single.perGpu.weightsGiB / 2, 1);
    expect(split.perGpu.budgetGiB).toBeLessThan(24);
    expect(split.kvBytesPerToken).toBe(81_920);
  });

  it('memory other processes hold on one card makes that card the limit (V0 subtracts it, V1 refuses to start)', async () => {
    const { shape, config } = await model('llama-3.1-8b-instruct');
    const input = {
      model: shape,
      weightsBytes: tensorBytes(decoderTensors(config)),
      gpus: [threeNinety(0), threeNinety(1, 3000)],
    };
    const v0 = planModelFit({ ...input, settings: { ...V0_DEFAULTS, tensorParallel: 2, maxModelLen: 8192 } });
    expect(v0.perGpu.index).toBe(1);
    expect(v0.gpus[0]!.kvCacheGiB - v0.gpus[1]!.kvCacheGiB).toBeCloseTo(3000 / 1024, 1);
    const v1 = planModelFit({
      ...input,
      settings: { ...V0_DEFAULTS, tensorParallel: 2, maxModelLen: 8192, engine: 'v1' },
    });
    expect(v1.verdict).toBe('will-not-start');
    expect(v1.reasons.join('\n')).toMatch(/other processes hold 2\.93 GiB of GPU 1/);
    expect(v1.fix['gpu-memory-utilization']).toBeUndefined();
  });

  it('a budget that leaves no room for CUDA graphs fits only with a change', async () => {
    const { shape, config } = await model('llama-3.1-8b-instruct');
    const plan = planModelFit({
      model: shape,
      weightsBytes: tensorBytes(decoderTensors(config)),
      gpus: [threeNinety(0)],
      settings: { ...V0_DEFAULTS, gpuMemoryUtilization: 0.99, maxModelLen: 8192 },
    });
    expect(plan.verdict).toBe('fits-with-change');
    expect(plan.fits).toBe(false);
    expect(plan.fix).toEqual({ 'gpu-memory-utilization': 0.97 });
    expect(plan.alternatives).toContainEqual({ 'enforce-eager': true });
    const eager = planModelFit({
      model: shape,
      weightsBytes: tensorBytes(decoderTensors(config)),
      gpus: [threeNinety(0)],
      settings: { ...V0_DEFAULTS, gpuMemoryUtilization: 0.99, maxModelLen: 8192, enforceEager: true },
    });
    expect(eager.verdict).toBe('fits');
  });

  it('a context longer than the model was built for will not start; the fix is its own length', async () => {
    const { shape, config } = await model('qwen3-14b');
    const plan = planModelFit({
      model: shape,
      weightsBytes: tensorBytes(decoderTensors(config)),
      gpus: [threeNinety(0), threeNinety(1)],
      settings: { ...V0_DEFAULTS, tensorParallel: 2, maxModelLen: 65_536, engine: 'v1', kvCacheDtype: 'fp8' },
    });
    expect(plan.verdict).toBe('will-not-start');
    expect(plan.reasons[0]).toMatch(/longer than the 40960 tokens the model was built for/);
    expect(plan.fix).toEqual({ 'max-model-len': 40_960 });
  });
});

describe('reading model files', () => {
  it('reads a safetensors header length and refuses what is not one', () => {
    const header = safetensorsHeader([{ name: 'w', shape: [2, 3] }]);
    expect(safetensorsHeaderLength(header.subarray(0, 8), 'a')).toBe(header.length - 8);
    expect(() => safetensorsHeaderLength(Buffer.from('{"hello":'), 'x.safetensors')).toThrow(
      /not a safetensors file/,
    );
    expect(() => parseSafetensorsHeader('{"w": {"dtype": "BF16"}}', 'x.safetensors')).toThrow(
      /tensor w has no data_offsets/,
    );
  });

  it('honours sliding windows, hybrid layers and latent attention where the config says so', () => {
    const base = {
      hidden_size: 4096,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      num_hidden_layers: 32,
      intermediate_size: 14336,
    };
    expect(parseModelConfig(JSON.stringify({ ...base, sliding_window: 4096 })).attention).toEqual({
      full: 0,
      sliding: 32,
      window: 4096,
    });
    expect(
      parseModelConfig(
        JSON.stringify({
          ...base,
          num_hidden_layers: 42,
          sliding_window: 4096,
          cache_implementation: 'hybrid',
        }),
      ).attention,
    ).toEqual({ full: 21, sliding: 21, window: 4096 });
    expect(
      parseModelConfig(
        JSON.stringify({
          ...base,
          num_hidden_layers: 4,
          sliding_window: 1024,
          layer_types: ['linear_attention', 'linear_attention', 'linear_attention', 'full_attention'],
        }),
      ).attention,
    ).toEqual({ full: 1, sliding: 0, window: null });
    const mla = parseModelConfig(JSON.stringify({ ...base, kv_lora_rank: 512, qk_rope_head_dim: 64 }));
    expect(mla.latentAttention).toBe(true);
    expect(kvBytesPerToken(mla, { tensorParallel: 2, pipelineParallel: 1, kvCacheDtype: 'auto' }).full).toBe(
      32 * 576 * 2,
    );
    expect(() => parseModelConfig('{"model_type": "bert"}')).toThrow(/config.json has no num_hidden_layers/);
  });

  it('a sliding-window model holds a context far longer than its cache in tokens', () => {
    const shape = parseModelConfig(
      JSON.stringify({
        hidden_size: 4096,
        num_attention_heads: 32,
        num_key_value_heads: 8,
        num_hidden_layers: 32,
        intermediate_size: 14336,
        sliding_window: 4096,
        max_position_embeddings: 32768,
      }),
    );
    const settings = { tensorParallel: 1, pipelineParallel: 1, kvCacheDtype: 'auto' } as const;
    expect(kvTokensIn(shape, settings, 1 * GIB)).toBe(8192);
    expect(longestContextIn(shape, settings, 1 * GIB)).toBe(32_768);
  });
});

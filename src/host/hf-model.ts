// What a model's files say about its size, read without its weights: the Hugging Face `config.json`
// (the architecture) and the safetensors headers (every tensor's exact byte range).

/** Why a model file could not be read, in words for the user. */
export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
}

/** How one kind of attention layer caches keys and values. */
export interface AttentionLayers {
  /** Layers that cache every token of the context. */
  readonly full: number;
  /** Layers that cache only the last `window` tokens (sliding-window attention). */
  readonly sliding: number;
  readonly window: number | null;
}

/** The architecture facts the memory estimate needs, from config.json. */
export interface ModelShape {
  readonly architecture: string;
  readonly layers: number;
  readonly hiddenSize: number;
  /** The MLP width one token passes through (for mixtures of experts: the experts it is routed to). */
  readonly intermediateSize: number;
  readonly attentionHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** The longest context the model was built for (rope scaling applied as vLLM does), if it says. */
  readonly maxContext: number | null;
  /** Bytes of one cached key or value element at the model's own dtype. */
  readonly dtypeBytes: number;
  readonly attention: AttentionLayers;
  /** Elements cached per token per attention layer (keys and values together). */
  readonly kvElementsPerLayer: number;
  /** Multi-head latent attention (DeepSeek): one compressed entry per token, not split across GPUs. */
  readonly latentAttention: boolean;
  readonly quantization: string | null;
}

type Json = Record<string, unknown>;

const DTYPE_BYTES: Record<string, number> = {
  float32: 2, // vLLM serves float32 checkpoints in half precision unless told otherwise
  float16: 2,
  bfloat16: 2,
  half: 2,
  float: 2,
};

// vLLM multiplies max_position_embeddings by the rope scaling factor except for these kinds.
const ROPE_KEEPS_LENGTH = new Set(['su', 'longrope', 'llama3', 'default', 'mrope']);

/** Reads the facts the estimate needs from config.json's text; names what is missing. */
export function parseModelConfig(text: string, source = 'config.json'): ModelShape {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(`${source} is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(raw)) throw new ModelFileError(`${source} is not a JSON object`);
  // Multimodal models keep the language model's shape in text_config (Gemma 3, Llama 4, Mistral 3).
  const config: Json = isObject(raw['text_config']) ? { ...raw, ...raw['text_config'] } : raw;
  const need = (key: string, ...aliases: string[]): number => {
    for (const name of [key, ...aliases]) {
      const value = config[name];
      if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
    }
    throw new ModelFileError(`${source} has no ${key}: not a transformer config stackctl can size`);
  };
  const optional = (key: string): number | null => {
    const value = config[key];
    return typeof value === 'number' && value > 0 ? value : null;
  };

  const layers = need('num_hidden_layers', 'n_layer', 'num_layers');
  const hiddenSize = need('hidden_size', 'n_embd', 'd_model');
  const attentionHeads = need('num_attention_heads', 'n_head');
  const kvHeads = optional('num_key_value_heads') ?? optional('multi_query_group_num') ?? attentionHeads;
  const headDim = optional('head_dim') ?? hiddenSize / attentionHeads;
  const kvLoraRank = optional('kv_lora_rank');
  const latentAttention = kvLoraRank !== null;
  const kvElementsPerLayer = latentAttention
    ? kvLoraRank + (optional('qk_rope_head_dim') ?? 0)
    : 2 * kvHeads * headDim;
  const dtype = textOf(config['torch_dtype']) ?? textOf(config['dtype']) ?? 'bfloat16';
  return {
    architecture: architectureOf(config),
    layers,
    hiddenSize,
    intermediateSize: intermediateOf(config, hiddenSize),
    attentionHeads,
    kvHeads,
    headDim,
    vocabSize: optional('vocab_size') ?? optional('padded_vocab_size') ?? 32_000,
    maxContext: maxContextOf(config),
    dtypeBytes: DTYPE_BYTES[dtype] ?? 2,
    attention: attentionLayersOf(config, layers),
    kvElementsPerLayer,
    latentAttention,
    quantization: quantizationOf(config),
  };
}

function architectureOf(config: Json): string {
  const architectures = config['architectures'];
  if (Array.isArray(architectures) && typeof architectures[0] === 'string') return architectures[0];
  return typeof config['model_type'] === 'string' ? config['model_type'] : 'unknown';
}

function intermediateOf(config: Json, hiddenSize: number): number {
  const number = (key: string): number | null => {
    const value = config[key];
    return typeof value === 'number' && value > 0 ? value : null;
  };
  const expert = number('moe_intermediate_size');
  const routed = number('num_experts_per_tok') ?? number('num_experts_per_token');
  if (expert !== null && routed !== null) {
    const shared = number('shared_expert_intermediate_size') ?? 0;
    return expert * routed + shared;
  }
  return number('intermediate_size') ?? number('ffn_dim') ?? number('n_inner') ?? 4 * hiddenSize;
}

function maxContextOf(config: Json): number | null {
  const positions = config['max_position_embeddings'] ?? config['n_positions'] ?? config['seq_length'];
  if (typeof positions !== 'number' || positions <= 0) return null;
  const scaling = config['rope_scaling'];
  if (!isObject(scaling)) return positions;
  const kind = textOf(scaling['rope_type']) ?? textOf(scaling['type']) ?? 'default';
  const factor = scaling['factor'];
  if (ROPE_KEEPS_LENGTH.has(kind) || typeof factor !== 'number') return positions;
  const original = scaling['original_max_position_embeddings'];
  const base = kind === 'yarn' && typeof original === 'number' ? original : positions;
  return Math.floor(base * factor);
}

function attentionLayersOf(config: Json, layers: number): AttentionLayers {
  const window = typeof config['sliding_window'] === 'number' ? config['sliding_window'] : null;
  const types = config['layer_types'];
  if (Array.isArray(types) && types.length > 0) {
    // Linear-attention, Mamba and convolution layers keep a fixed state per sequence, not per token.
    const full = types.filter((type) => type === 'full_attention' || type === 'attention').length;
    const sliding = types.filter((type) => type === 'sliding_attention').length;
    return { full, sliding, window: sliding > 0 ? window : null };
  }
  if (window === null || config['use_sliding_window'] === false)
    return { full: layers, sliding: 0, window: null };
  const pattern = config['sliding_window_pattern'];
  if (typeof pattern === 'number' && pattern > 1) {
    // Gemma 3: every pattern-th layer is global, the others slide.
    const full = Math.floor(layers / pattern);
    return { full, sliding: layers - full, window };
  }
  if (config['cache_implementation'] === 'hybrid') {
    // Gemma 2: sliding and global layers alternate.
    const full = Math.floor(layers / 2);
    return { full, sliding: layers - full, window };
  }
  return { full: 0, sliding: layers, window };
}

function quantizationOf(config: Json): string | null {
  const quantization = config['quantization_config'];
  if (!isObject(quantization)) return null;
  const method = quantization['quant_method'] ?? quantization['quant_algo'];
  return typeof method === 'string' ? method : 'unknown';
}

/** One file of a hub repository at a revision. */
export interface HubFile {
  readonly name: string;
  readonly size: number;
  /** The sha256 of an LFS file (its etag on the hub). */
  readonly sha256: string | undefined;
  /** The git blob id of a file kept in git itself (its etag then). */
  readonly blobId: string | undefined;
}

/** The tensors' bytes a safetensors header describes (the weights themselves are never read). */
export interface SafetensorsHeader {
  readonly tensors: number;
  readonly bytes: number;
}

/** The most a safetensors header may take (the format's own limit). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

/** The header's length from a safetensors file's first 8 bytes (little-endian u64). */
export function safetensorsHeaderLength(prefix: Uint8Array, source: string): number {
  if (prefix.length < 8) throw new ModelFileError(`${source} is shorter than a safetensors header`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = Number(view.getBigUint64(0, true));
  if (length < 2 || length > MAX_SAFETENSORS_HEADER)
    throw new ModelFileError(`${source} is not a safetensors file (header length ${length})`);
  return length;
}

/** Sums the tensors of a safetensors header's JSON: exact bytes, from each tensor's offsets. */
export function parseSafetensorsHeader(text: string, source: string): SafetensorsHeader {
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    throw new ModelFileError(`${source} has a safetensors header that is not JSON`);
  }
  if (!isObject(header)) throw new ModelFileError(`${source} has a safetensors header that is not an object`);
  let tensors = 0;
  let bytes = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const offsets = isObject(entry) ? entry['data_offsets'] : undefined;
    if (!Array.isArray(offsets) || offsets.length !== 2)
      throw new ModelFileError(`${source}: tensor ${name} has no data_offsets`);
    const [begin, end] = offsets as unknown[];
    if (typeof begin !== 'number' || typeof end !== 'number' || begin < 0 || end < begin)
      throw new ModelFileError(
        `${source}: tensor ${name} has data_offsets [${String(begin)}, ${String(end)}]`,
      );
    tensors += 1;
    bytes += end - begin;
  }
  return { tensors, bytes };
}

/** The shard files of a sharded checkpoint's model.safetensors.index.json, in order, each once. */
export function parseSafetensorsIndex(text: string, source: string): string[] {
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch {
    throw new ModelFileError(`${source} is not JSON`);
  }
  const map = isObject(index) ? index['weight_map'] : undefined;
  if (!isObject(map)) throw new ModelFileError(`${source} has no weight_map`);
  const files = [...new Set(Object.values(map).filter((file): file is string => typeof file === 'string'))];
  for (const file of files)
    if (file.includes('..') || file.startsWith('/') || !file.endsWith('.safetensors'))
      throw new ModelFileError(`${source} names a shard stackctl will not read: ${file}`);
  return files.sort();
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

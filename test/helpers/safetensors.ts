// Safetensors files for tests: a header describing a model's real tensors (shapes from its
// config.json), with or without the weights behind it.
import { writeFile } from 'node:fs/promises';

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype?: string;
}

const DTYPE_BYTES: Record<string, number> = { BF16: 2, F16: 2, F32: 4, I8: 1, U8: 1, F8_E4M3: 1 };

/** The tensors of a Llama-style decoder (Llama, Qwen, Mistral) as its config describes it. */
export function decoderTensors(config: Record<string, unknown>): TensorSpec[] {
  const n = (key: string): number => config[key] as number;
  const hidden = n('hidden_size');
  const heads = n('num_attention_heads');
  const headDim = (config['head_dim'] as number | undefined) ?? hidden / heads;
  const kv = n('num_key_value_heads') * headDim;
  const inter = n('intermediate_size');
  const vocab = n('vocab_size');
  const tensors: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [vocab, hidden] }];
  for (let layer = 0; layer < n('num_hidden_layers'); layer += 1) {
    const p = `model.layers.${layer}`;
    tensors.push(
      { name: `${p}.self_attn.q_proj.weight`, shape: [heads * headDim, hidden] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, hidden] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, hidden] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [hidden, heads * headDim] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [inter, hidden] },
      { name: `${p}.mlp.up_proj.weight`, shape: [inter, hidden] },
      { name: `${p}.mlp.down_proj.weight`, shape: [hidden, inter] },
      { name: `${p}.input_layernorm.weight`, shape: [hidden] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [hidden] },
    );
  }
  tensors.push({ name: 'model.norm.weight', shape: [hidden] });
  if (config['tie_word_embeddings'] !== true)
    tensors.push({ name: 'lm_head.weight', shape: [vocab, hidden] });
  return tensors;
}

export function tensorBytes(tensors: readonly TensorSpec[]): number {
  return tensors.reduce(
    (sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[t.dtype ?? 'BF16'] ?? 2),
    0,
  );
}

/** A safetensors header (length prefix and JSON) for these tensors, laid out one after another. */
export function safetensorsHeader(tensors: readonly TensorSpec[]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = tensor.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[tensor.dtype ?? 'BF16'] ?? 2);
    header[tensor.name] = {
      dtype: tensor.dtype ?? 'BF16',
      shape: tensor.shape,
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json]);
}

/** A complete safetensors file: the header and the tensors' bytes (filled with `fill`). */
export function safetensorsFile(tensors: readonly TensorSpec[], fill = 0): Buffer {
  const header = safetensorsHeader(tensors);
  return Buffer.concat([header, Buffer.alloc(tensorBytes(tensors), fill)]);
}

/** Writes only the header: enough for anything that never reads the weights. */
export async function writeHeaderOnly(path: string, tensors: readonly TensorSpec[]): Promise<void> {
  await writeFile(path, safetensorsHeader(tensors));
}

// Reads what `models fit` needs from a model without its weights: config.json and every
// safetensors header, from a local folder or from a Hugging Face hub (HTTP range requests).
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  ModelFileError,
  parseSafetensorsHeader,
  parseSafetensorsIndex,
  safetensorsHeaderLength,
  type HubFile,
  type SafetensorsHeader,
} from '../host/hf-model.js';

/** What a model's files say, read without its weights. */
export interface ModelFiles {
  /** Where it was read: a folder or the hub URL of its revision. */
  readonly location: string;
  /** The commit the hub resolved the revision to; null for a folder. */
  readonly revision: string | null;
  readonly configText: string;
  readonly shards: readonly string[];
  readonly weights: SafetensorsHeader;
}

const INDEX = 'model.safetensors.index.json';

/** Reads a model folder holding config.json and its safetensors (or their index). */
export async function readModelFolder(dir: string): Promise<ModelFiles> {
  const configText = await readFile(join(dir, 'config.json'), 'utf8').catch(
    (error: NodeJS.ErrnoException) => {
      throw new ModelFileError(
        error.code === 'ENOENT'
          ? `${dir} has no config.json`
          : `cannot read ${join(dir, 'config.json')}: ${error.message}`,
      );
    },
  );
  const names = await readdir(dir);
  const shards = names.includes(INDEX)
    ? parseSafetensorsIndex(await readFile(join(dir, INDEX), 'utf8'), join(dir, INDEX))
    : names.filter((name) => name.endsWith('.safetensors')).sort();
  if (shards.length === 0)
    throw new ModelFileError(`${dir} has no *.safetensors (stackctl sizes safetensors checkpoints only)`);
  const weights = { tensors: 0, bytes: 0 };
  for (const shard of shards) {
    const header = await readLocalHeader(join(dir, shard));
    weights.tensors += header.tensors;
    weights.bytes += header.bytes;
  }
  return { location: dir, revision: null, configText, shards, weights };
}

async function readLocalHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new ModelFileError(
      `cannot read ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
    );
  });
  try {
    const prefix = Buffer.alloc(8);
    const { bytesRead } = await handle.read(prefix, 0, 8, 0);
    const length = safetensorsHeaderLength(prefix.subarray(0, bytesRead), path);
    const header = Buffer.alloc(length);
    const read = await handle.read(header, 0, length, 8);
    if (read.bytesRead < length) throw new ModelFileError(`${path} ends inside its safetensors header`);
    return parseSafetensorsHeader(header.toString('utf8'), path);
  } finally {
    await handle.close();
  }
}

export interface HubOptions {
  /** The hub's address (HF_ENDPOINT; https://huggingface.co by default). */
  readonly endpoint: string;
  /** Sent to the hub only, never to the storage it redirects to. */
  readonly token: string | undefined;
  readonly signal: AbortSignal;
}

/** A failure to reach the hub or read from it, in words for the user. */
export class HubError extends Error {
  override readonly name = 'HubError';
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

/** Reads config.json and the safetensors headers of `repo` at `revision` with range requests. */
export async function readHubModel(repo: string, revision: string, options: HubOptions): Promise<ModelFiles> {
  const base = options.endpoint.replace(/\/+$/, '');
  const info = await hubJson(
    `${base}/api/models/${repo}/revision/${encodeURIComponent(revision)}`,
    options,
    repo,
  );
  const sha = typeof info['sha'] === 'string' ? info['sha'] : revision;
  const siblings = Array.isArray(info['siblings'])
    ? info['siblings']
        .map((entry) => (entry as { rfilename?: unknown }).rfilename)
        .filter((n): n is string => typeof n === 'string')
    : [];
  const fileUrl = (name: string): string => `${base}/${repo}/resolve/${sha}/${name}`;
  const configText = (await hubRange(fileUrl('config.json'), options, null)).toString('utf8');
  const shards = siblings.includes(INDEX)
    ? parseSafetensorsIndex(
        (await hubRange(fileUrl(INDEX), options, null)).toString('utf8'),
        `${repo}/${INDEX}`,
      )
    : siblings.filter((name) => name.endsWith('.safetensors') && !name.includes('/')).sort();
  if (shards.length === 0)
    throw new ModelFileError(
      `${repo} has no *.safetensors at ${revision} (stackctl sizes safetensors checkpoints only)`,
    );
  const weights = { tensors: 0, bytes: 0 };
  for (const shard of shards) {
    const source = `${repo}/${shard}`;
    const length = safetensorsHeaderLength(await hubRange(fileUrl(shard), options, [0, 7]), source);
    const header = await hubRange(fileUrl(shard), options, [8, 8 + length - 1]);
    if (header.length < length)
      throw new ModelFileError(`${source}: the hub sent ${header.length} of ${length} header bytes`);
    const parsed = parseSafetensorsHeader(header.toString('utf8'), source);
    weights.tensors += parsed.tensors;
    weights.bytes += parsed.bytes;
  }
  return { location: `${base}/${repo}@${sha}`, revision: sha, configText, shards, weights };
}

async function hubJson(url: string, options: HubOptions, repo: string): Promise<Record<string, unknown>> {
  const body = await hubRange(url, options, null, repo);
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new HubError(`${url} did not answer with JSON: is HF_ENDPOINT a Hugging Face hub?`, null);
}

/** A repository's files at a revision, with their sizes and checksums (the hub's `blobs` metadata). */
export async function readRevisionFiles(
  repo: string,
  revision: string,
  options: HubOptions,
): Promise<{ sha: string; files: HubFile[] }> {
  const base = options.endpoint.replace(/\/+$/, '');
  const info = await hubJson(
    `${base}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`,
    options,
    repo,
  );
  const sha = typeof info['sha'] === 'string' ? info['sha'] : undefined;
  if (!sha || !/^[0-9a-f]{40}$/.test(sha))
    throw new HubError(`${repo}@${revision}: the hub gave no commit for the revision`, null);
  const siblings = Array.isArray(info['siblings']) ? info['siblings'] : [];
  const files = siblings.flatMap((entry): HubFile[] => {
    const sibling = entry as {
      rfilename?: unknown;
      size?: unknown;
      blobId?: unknown;
      lfs?: { sha256?: unknown; size?: unknown };
    };
    if (typeof sibling.rfilename !== 'string') return [];
    const lfsSha = typeof sibling.lfs?.sha256 === 'string' ? sibling.lfs.sha256 : undefined;
    const size =
      typeof sibling.lfs?.size === 'number'
        ? sibling.lfs.size
        : typeof sibling.size === 'number'
          ? sibling.size
          : -1;
    return [
      {
        name: sibling.rfilename,
        size,
        sha256: lfsSha && /^[0-9a-f]{64}$/.test(lfsSha) ? lfsSha : undefined,
        blobId:
          typeof sibling.blobId === 'string' && /^[0-9a-f]{40}$/.test(sibling.blobId)
            ? sibling.blobId
            : undefined,
      },
    ];
  });
  return { sha, files };
}

/** The URL of a file at a commit. */
export function resolveUrl(endpoint: string, repo: string, sha: string, name: string): string {
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${sha}/${name.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Streams a file from byte `from` on, into `sink` chunk by chunk (redirects followed by hand, the
 * token sent to the hub's origin only). A server that ignores the range sends the whole file: the
 * bytes before `from` are dropped. Returns the bytes written.
 */
export async function streamHubFile(
  url: string,
  from: number,
  options: HubOptions,
  sink: (chunk: Buffer) => Promise<void>,
): Promise<number> {
  const response = await hubFetch(url, options, from > 0 ? `bytes=${from}-` : null);
  if (response.status === 416) {
    await response.body?.cancel();
    return 0;
  }
  if (!response.body) return 0;
  const stream = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  let skip = response.status === 200 ? from : 0;
  let written = 0;
  try {
    for await (const data of stream) {
      let chunk = data as Buffer;
      if (skip > 0) {
        const dropped = Math.min(skip, chunk.length);
        skip -= dropped;
        chunk = chunk.subarray(dropped);
        if (chunk.length === 0) continue;
      }
      await sink(chunk);
      written += chunk.length;
    }
  } catch (error) {
    if (options.signal.aborted) throw error;
    throw new HubError(`the download of ${new URL(url).pathname} broke off: ${causeOf(error)}`, null);
  } finally {
    stream.destroy();
  }
  return written;
}

/** The most a whole-file answer may hold (config.json, the shard index, revision metadata). */
const MAX_SMALL_FILE = 16 * 2 ** 20;

/**
 * GETs `url` (following redirects by hand so the token goes to the hub's own origin only), reading
 * `range` ([first, last] bytes) or, without one, the whole small file. A server that ignores the
 * range is cut off once the bytes asked for have arrived: a weight file is never downloaded here.
 */
export async function hubRange(
  url: string,
  options: HubOptions,
  range: readonly [number, number] | null,
  repo?: string,
): Promise<Buffer> {
  const response = await hubFetch(url, options, range ? `bytes=${range[0]}-${range[1]}` : null, repo);
  const limit = range ? range[1] - range[0] + 1 : MAX_SMALL_FILE;
  // A 200 to a range request is the whole file: keep only the bytes asked for.
  const skip = range && response.status === 200 ? range[0] : 0;
  return readAtMost(response, skip, limit, new URL(response.url || url).pathname);
}

/** GETs `url`, following redirects by hand; an answer that is not 2xx (or 416) is a HubError. */
async function hubFetch(
  url: string,
  options: HubOptions,
  range: string | null,
  repo?: string,
): Promise<Response> {
  const hubOrigin = new URL(options.endpoint).origin;
  let current = new URL(url);
  for (let hop = 0; hop < 6; hop += 1) {
    const headers: Record<string, string> = { 'user-agent': 'stackctl' };
    if (range) headers['range'] = range;
    if (options.token && current.origin === hubOrigin) headers['authorization'] = `Bearer ${options.token}`;
    let response: Response;
    try {
      response = await fetch(current, { headers, redirect: 'manual', signal: options.signal });
    } catch (error) {
      if (options.signal.aborted) throw error;
      throw new HubError(`cannot reach ${current.origin}: ${causeOf(error)}`, null);
    }
    if (response.status >= 300 && response.status < 400 && response.headers.get('location')) {
      await response.body?.cancel();
      current = new URL(response.headers.get('location') ?? '', current);
      continue;
    }
    if (response.ok || response.status === 416) return response;
    await response.body?.cancel();
    if (response.status === 401 || response.status === 403)
      throw new HubError(
        `${repo ?? current.pathname} is gated or private (HTTP ${response.status}): ${options.token ? 'the Hugging Face token was refused' : 'a Hugging Face token is needed'}`,
        response.status,
      );
    if (response.status === 404)
      throw new HubError(
        `${repo ?? 'the model'}: ${current.pathname} was not found on ${current.origin}`,
        404,
      );
    throw new HubError(
      `${current.origin} answered HTTP ${response.status} for ${current.pathname}`,
      response.status,
    );
  }
  throw new HubError(`too many redirects from ${url}`, null);
}

async function readAtMost(response: Response, skip: number, limit: number, name: string): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const stream = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  const chunks: Buffer[] = [];
  let seen = 0;
  let kept = 0;
  try {
    for await (const data of stream) {
      const chunk = data as Buffer;
      const from = Math.max(0, skip - seen);
      seen += chunk.length;
      if (from >= chunk.length) continue;
      const piece = chunk.subarray(from, from + (limit - kept));
      chunks.push(piece);
      kept += piece.length;
      if (kept >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  if (skip === 0 && limit === MAX_SMALL_FILE && kept >= limit)
    throw new HubError(`${name} is larger than ${MAX_SMALL_FILE} bytes: not a config file`, null);
  return Buffer.concat(chunks);
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

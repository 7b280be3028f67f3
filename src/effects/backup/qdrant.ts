// Qdrant backed up online, through its snapshot API (https://qdrant.tech/documentation/concepts/snapshots/,
// https://api.qdrant.tech/api-reference/snapshots): each collection's snapshot is made on the
// server, streamed into one tar (an entry <collection>.snapshot per collection), and deleted from
// the server; a restore uploads each back (POST /collections/{name}/snapshots/upload?priority=snapshot),
// which replaces the collection or creates it. The service keeps running throughout.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StackctlError } from '../../errors.js';
import type { StreamedCommand } from './services.js';

export interface QdrantEndpoint {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:6333. */
  readonly url: string;
  /** Sent as the api-key header when the server wants one. */
  readonly apiKey: string | undefined;
  readonly signal?: AbortSignal;
}

interface Call {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly headers?: Record<string, string | number>;
  readonly body?: Readable;
}

function send(endpoint: QdrantEndpoint, call: Call): Promise<IncomingMessage> {
  const url = new URL(call.path, endpoint.url.endsWith('/') ? endpoint.url : `${endpoint.url}/`);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: call.method,
      headers: { ...(endpoint.apiKey ? { 'api-key': endpoint.apiKey } : {}), ...call.headers },
      timeout: 120_000,
      ...(endpoint.signal ? { signal: endpoint.signal } : {}),
    });
    req.on('response', resolve);
    req.on('timeout', () => req.destroy(new Error('no answer in 120 s')));
    req.on('error', reject);
    if (call.body) pipeline(call.body, req).catch((error: unknown) => req.destroy(error as Error));
    else req.end();
  });
}

async function text(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A call whose answer is Qdrant's JSON envelope: its result, or a one-line error naming the call. */
async function json<T>(endpoint: QdrantEndpoint, call: Call): Promise<T> {
  let response: IncomingMessage;
  try {
    response = await send(endpoint, call);
  } catch (error) {
    throw unreachable(endpoint, call, error);
  }
  const body = await text(response);
  if ((response.statusCode ?? 500) >= 300) throw refused(endpoint, call, response.statusCode, body);
  try {
    return (JSON.parse(body) as { result: T }).result;
  } catch {
    throw refused(endpoint, call, response.statusCode, body);
  }
}

function unreachable(endpoint: QdrantEndpoint, call: Call, error: unknown): StackctlError {
  return new StackctlError(
    'E_RUNTIME',
    `Qdrant at ${endpoint.url}: ${call.method} ${call.path} failed: ${(error as Error).message}`,
    { hint: 'is qdrant running, and does backup.url name its published port?', cause: error },
  );
}

function refused(
  endpoint: QdrantEndpoint,
  call: Call,
  status: number | undefined,
  body: string,
): StackctlError {
  const detail = /"error"\s*:\s*"([^"]{0,200})/.exec(body)?.[1] ?? body.slice(0, 200).replace(/\s+/g, ' ');
  return new StackctlError(
    'E_RUNTIME',
    `Qdrant at ${endpoint.url}: ${call.method} ${call.path} answered ${status ?? '?'}: ${detail}`,
    {
      hint:
        status === 401 || status === 403
          ? 'the API key is wrong: check the secret backup.apiKey names'
          : 'see qdrant logs (stackctl logs ENV qdrant)',
    },
  );
}

const collectionPath = (name: string): string => `collections/${encodeURIComponent(name)}`;

/** The collections, and a tar of one snapshot per collection, made while Qdrant runs. */
export async function qdrantSnapshots(endpoint: QdrantEndpoint): Promise<StreamedCommand> {
  const { collections } = await json<{ collections: { name: string }[] }>(endpoint, {
    method: 'GET',
    path: 'collections',
  });
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  const out = new PassThrough();
  const done = (async () => {
    const packed = pipeline(pack, out);
    try {
      for (const { name } of collections) {
        const snapshot = await json<{ name: string; size: number }>(endpoint, {
          method: 'POST',
          path: `${collectionPath(name)}/snapshots?wait=true`,
        });
        const path = `${collectionPath(name)}/snapshots/${encodeURIComponent(snapshot.name)}`;
        try {
          const call: Call = { method: 'GET', path };
          const response = await send(endpoint, call).catch((error: unknown) => {
            throw unreachable(endpoint, call, error);
          });
          if ((response.statusCode ?? 500) >= 300)
            throw refused(endpoint, call, response.statusCode, await text(response));
          const size = Number(response.headers['content-length'] ?? snapshot.size);
          await pipeline(response, pack.entry({ name: `${name}.snapshot`, size, mode: 0o600 }));
        } finally {
          // The server's copy is not kept: it would fill Qdrant's snapshot folder night after night.
          await json(endpoint, { method: 'DELETE', path }).catch(() => undefined);
        }
      }
      pack.finalize();
      await packed;
    } catch (error) {
      pack.destroy(error as Error);
      out.destroy(error as Error);
      throw error;
    }
  })();
  done.catch(() => undefined);
  return { stdout: out, done };
}

/** Uploads each collection snapshot of the tar back; returns the collections restored. */
export async function restoreQdrantSnapshots(endpoint: QdrantEndpoint, archive: Readable): Promise<string[]> {
  const { default: tar } = await import('tar-stream');
  const extract = tar.extract();
  const restored: string[] = [];
  const uploads = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/\.snapshot$/, '');
      if (!entry.header.name.endsWith('.snapshot') || name.includes('/')) {
        entry.resume();
        continue;
      }
      const boundary = `stackctl-${randomBytes(12).toString('hex')}`;
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="snapshot"; filename="${name}.snapshot"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      const body = Readable.from(
        (async function* () {
          yield head;
          for await (const chunk of entry) yield chunk as Buffer;
          yield tail;
        })(),
      );
      await json(endpoint, {
        method: 'POST',
        path: `${collectionPath(name)}/snapshots/upload?priority=snapshot&wait=true`,
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + (entry.header.size ?? 0) + tail.length,
        },
        body,
      });
      restored.push(name);
    }
  })();
  await Promise.all([pipeline(archive, extract), uploads]);
  return restored;
}

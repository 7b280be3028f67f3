// A Hugging Face hub for tests, on loopback: the API and file routes stackctl uses (revision
// metadata, resolve/ with a redirect to a separate storage origin, byte ranges, ETags with the
// files' sha256), serving files the test makes. It records every request for assertions.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubRepo {
  readonly files: Readonly<Record<string, Buffer>>;
  /** A token the repo requires (gated); undefined for a public repo. */
  readonly token?: string;
  /** Files whose listed sha256 is not that of the bytes served (a corrupted mirror). */
  readonly wrongChecksum?: readonly string[];
}

/** Files this large are LFS files on the hub: listed with a sha256, served from storage. */
export const LFS_MIN_BYTES = 4096;

export interface HubOptions {
  /** Storage sends file bodies at most this fast (bytes per second), in small pieces. */
  readonly bytesPerSecond?: number;
  /** The first this many storage answers break off (the connection dropped) after this many bytes. */
  readonly drop?: { readonly answers: number; readonly afterBytes: number };
}

export interface HubRequest {
  readonly origin: 'hub' | 'storage';
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
  /** Bytes the answer carried. */
  bytes: number;
}

export interface FakeHub {
  readonly endpoint: string;
  readonly requests: HubRequest[];
  readonly sha: string;
  close(): Promise<void>;
}

export async function startHub(
  repos: Readonly<Record<string, HubRepo>>,
  options: HubOptions = {},
): Promise<FakeHub> {
  const requests: HubRequest[] = [];
  const sha = createHash('sha1')
    .update(JSON.stringify(Object.keys(repos)))
    .digest('hex');
  const storage = createServer((req, res) => serveStorage(req, res, repos, requests, options));
  const storageOrigin = await listen(storage);
  const hub = createServer((req, res) => serveHub(req, res, repos, requests, sha, storageOrigin));
  const endpoint = await listen(hub);
  return {
    endpoint,
    requests,
    sha,
    close: async () => {
      await Promise.all([close(hub), close(storage)]);
    },
  };
}

function serveHub(
  req: IncomingMessage,
  res: ServerResponse,
  repos: Readonly<Record<string, HubRepo>>,
  requests: HubRequest[],
  sha: string,
  storageOrigin: string,
): void {
  const record = recordOf(req, 'hub', requests);
  const url = new URL(req.url ?? '/', 'http://hub');
  const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
  const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  const repoName = api?.[1] ?? resolve?.[1];
  const repo = repoName ? repos[repoName] : undefined;
  if (!repo)
    return send(res, record, 404, { 'content-type': 'application/json' }, '{"error":"Repository not found"}');
  if (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`)
    return send(
      res,
      record,
      401,
      { 'content-type': 'application/json' },
      '{"error":"Access to model is restricted"}',
    );
  if (api) {
    const blobs = url.searchParams.get('blobs') === 'true';
    const siblings = Object.entries(repo.files).map(([rfilename, content]) => {
      if (!blobs) return { rfilename };
      const gitBlob = createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
      if (content.length < LFS_MIN_BYTES) return { rfilename, size: content.length, blobId: gitBlob };
      const real = createHash('sha256').update(content).digest('hex');
      const sha256 = repo.wrongChecksum?.includes(rfilename)
        ? createHash('sha256').update(real).digest('hex')
        : real;
      return {
        rfilename,
        size: content.length,
        blobId: gitBlob,
        lfs: { sha256, size: content.length, pointerSize: 134 },
      };
    });
    return send(
      res,
      record,
      200,
      { 'content-type': 'application/json' },
      JSON.stringify({ id: repoName, sha, siblings }),
    );
  }
  const file = resolve?.[3] ?? '';
  const content = repo.files[file];
  if (!content) return send(res, record, 404, {}, 'Entry not found');
  // Small files come from the hub itself, large ones from storage on another origin, as on the real hub.
  if (content.length < LFS_MIN_BYTES) return sendFile(req, res, record, content);
  res.writeHead(302, {
    location: `${storageOrigin}/${repoName}/${sha}/${file}`,
    'x-linked-etag': `"${createHash('sha256').update(content).digest('hex')}"`,
    'x-linked-size': String(content.length),
  });
  res.end();
}

function serveStorage(
  req: IncomingMessage,
  res: ServerResponse,
  repos: Readonly<Record<string, HubRepo>>,
  requests: HubRequest[],
  options: HubOptions,
): void {
  const record = recordOf(req, 'storage', requests);
  const match = /^\/([^/]+\/[^/]+)\/[0-9a-f]+\/(.+)$/.exec(
    new URL(req.url ?? '/', 'http://storage').pathname,
  );
  const content = match
    ? repos[decodeURIComponent(match[1] ?? '')]?.files[decodeURIComponent(match[2] ?? '')]
    : undefined;
  if (!content) return send(res, record, 404, {}, 'not found');
  if (options.drop && drops.get(options) !== 0) {
    drops.set(options, (drops.get(options) ?? options.drop.answers) - 1);
    return dropAfter(req, res, record, content, options.drop.afterBytes);
  }
  const openRange = req.headers.range === undefined || /^bytes=\d+-$/.test(req.headers.range);
  if (options.bytesPerSecond && openRange)
    return sendSlowly(req, res, record, content, options.bytesPerSecond);
  sendFile(req, res, record, content);
}

/** Answers still to break off, per hub. */
const drops = new WeakMap<HubOptions, number>();

/** Starts the answer (whole file or open range) and destroys the connection after `afterBytes`. */
function dropAfter(
  req: IncomingMessage,
  res: ServerResponse,
  record: HubRequest,
  content: Buffer,
  afterBytes: number,
): void {
  const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  const body = content.subarray(from);
  res.writeHead(from > 0 ? 206 : 200, {
    'content-length': String(body.length),
    ...(from > 0 ? { 'content-range': `bytes ${from}-${content.length - 1}/${content.length}` } : {}),
  });
  const part = body.subarray(0, afterBytes);
  record.bytes = part.length;
  res.write(part, () => setTimeout(() => res.destroy(), 50));
}

/** A whole file or an open range (bytes=N-), sent in 64 KiB pieces at `bytesPerSecond`. */
function sendSlowly(
  req: IncomingMessage,
  res: ServerResponse,
  record: HubRequest,
  content: Buffer,
  bytesPerSecond: number,
): void {
  const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  const body = content.subarray(from);
  res.writeHead(from > 0 ? 206 : 200, {
    'content-length': String(body.length),
    'accept-ranges': 'bytes',
    ...(from > 0 ? { 'content-range': `bytes ${from}-${content.length - 1}/${content.length}` } : {}),
  });
  const piece = 64 * 1024;
  let offset = 0;
  const timer = setInterval(
    () => {
      if (res.destroyed || offset >= body.length) {
        clearInterval(timer);
        res.end();
        return;
      }
      const chunk = body.subarray(offset, offset + piece);
      offset += chunk.length;
      record.bytes += chunk.length;
      res.write(chunk);
    },
    Math.max(1, Math.round((piece / bytesPerSecond) * 1000)),
  );
  res.on('close', () => clearInterval(timer));
}

function sendFile(req: IncomingMessage, res: ServerResponse, record: HubRequest, content: Buffer): void {
  const etag = `"${createHash('sha256').update(content).digest('hex')}"`;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (!range) return send(res, record, 200, { etag, 'accept-ranges': 'bytes' }, content);
  const start = Number(range[1]);
  const end = range[2] ? Math.min(Number(range[2]), content.length - 1) : content.length - 1;
  if (start >= content.length)
    return send(res, record, 416, { 'content-range': `bytes */${content.length}` }, '');
  send(
    res,
    record,
    206,
    { etag, 'accept-ranges': 'bytes', 'content-range': `bytes ${start}-${end}/${content.length}` },
    content.subarray(start, end + 1),
  );
}

function recordOf(req: IncomingMessage, origin: 'hub' | 'storage', requests: HubRequest[]): HubRequest {
  const record: HubRequest = {
    origin,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    range: req.headers.range,
    authorization: req.headers.authorization,
    bytes: 0,
  };
  requests.push(record);
  return record;
}

function send(
  res: ServerResponse,
  record: HubRequest,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  const buffer = typeof body === 'string' ? Buffer.from(body) : body;
  record.bytes = buffer.length;
  res.writeHead(status, { ...headers, 'content-length': String(buffer.length) });
  res.end(buffer);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }),
  );
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

// A Qdrant stand-in on loopback that answers the snapshot routes stackctl calls, as Qdrant's API
// reference describes them (no Qdrant image can be built here): the JSON envelope
// {"result", "status", "time"}, the api-key header, and
//   GET    /collections                                   (api-reference/collections/get-collections)
//   POST   /collections/{name}/snapshots?wait=true        (api-reference/snapshots/create-snapshot)
//   GET    /collections/{name}/snapshots/{snapshot}       (api-reference/snapshots/get-snapshot)
//   DELETE /collections/{name}/snapshots/{snapshot}       (api-reference/snapshots/delete-snapshot)
//   POST   /collections/{name}/snapshots/upload?priority= (api-reference/snapshots/recover-from-uploaded-snapshot:
//          multipart/form-data with the file in the part "snapshot"; replaces or creates the collection)
// https://api.qdrant.tech/api-reference/snapshots. A collection's "data" is bytes the test chooses;
// a snapshot is a copy of them, so what comes back after a restore can be compared exactly.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface QdrantContract {
  readonly url: string;
  readonly collections: Map<string, Buffer>;
  /** Snapshots the server holds now, by collection (stackctl deletes what it made). */
  readonly snapshots: Map<string, Map<string, Buffer>>;
  /** Every request, as "METHOD path?query". */
  readonly calls: string[];
  close(): Promise<void>;
}

async function body(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The file of the multipart part named "snapshot". */
function snapshotPart(raw: Buffer, contentType: string): Buffer | undefined {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  let at = raw.indexOf(delimiter);
  while (at >= 0) {
    const next = raw.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = raw.subarray(at + delimiter.length + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0 && /name="snapshot"/.test(part.subarray(0, split).toString('latin1')))
      return part.subarray(split + 4);
    at = next;
  }
  return undefined;
}

export async function startQdrantContract(apiKey: string): Promise<QdrantContract> {
  const collections = new Map<string, Buffer>();
  const snapshots = new Map<string, Map<string, Buffer>>();
  const calls: string[] = [];
  const reply = (response: ServerResponse, status: number, result: unknown, error?: string): void => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify(
        error === undefined ? { result, status: 'ok', time: 0.001 } : { status: { error }, time: 0 },
      ),
    );
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      calls.push(`${request.method ?? ''} ${url.pathname}${url.search}`);
      if (request.headers['api-key'] !== apiKey) return reply(response, 401, null, 'Invalid api-key');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (request.method === 'GET' && parts.length === 1 && parts[0] === 'collections')
        return reply(response, 200, { collections: [...collections.keys()].map((name) => ({ name })) });
      const [, name = '', snapshotsPart, snapshot] = parts;
      if (parts[0] !== 'collections' || snapshotsPart !== 'snapshots')
        return reply(response, 404, null, 'Not found');
      if (request.method === 'POST' && snapshot === 'upload') {
        if (!['snapshot', 'replica', 'no_sync'].includes(url.searchParams.get('priority') ?? 'replica'))
          return reply(response, 400, null, 'bad priority');
        const file = snapshotPart(await body(request), request.headers['content-type'] ?? '');
        if (!file) return reply(response, 400, null, 'no snapshot part');
        collections.set(name, file);
        return reply(response, 200, true);
      }
      const data = collections.get(name);
      if (!data) return reply(response, 404, null, `Collection \`${name}\` doesn't exist!`);
      const held = snapshots.get(name) ?? new Map<string, Buffer>();
      snapshots.set(name, held);
      if (request.method === 'POST' && snapshot === undefined) {
        const made = `${name}-${held.size + 1}.snapshot`;
        held.set(made, Buffer.from(data));
        return reply(response, 200, { name: made, creation_time: null, size: data.length, checksum: null });
      }
      const file = snapshot === undefined ? undefined : held.get(snapshot);
      if (!file || snapshot === undefined) return reply(response, 404, null, 'Snapshot not found');
      if (request.method === 'GET') {
        response.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': file.length,
        });
        return response.end(file);
      }
      if (request.method === 'DELETE') {
        held.delete(snapshot);
        return reply(response, 200, true);
      }
      return reply(response, 405, null, 'Method not allowed');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    collections,
    snapshots,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

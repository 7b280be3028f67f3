import { createConnection, createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A byte-for-byte proxy in front of the Docker socket that notes every HTTP request line a client
 * sends (method and path): tests count the API calls a command makes. Point DOCKER_HOST at `host`.
 */
export interface DockerProxy {
  readonly host: string;
  readonly requests: string[];
  close(): Promise<void>;
}

export async function dockerProxy(target = '/var/run/docker.sock'): Promise<DockerProxy> {
  const folder = await mkdtemp(join(tmpdir(), 'stackctl-docker-proxy-'));
  const path = join(folder, 'docker.sock');
  const requests: string[] = [];
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      pending = (pending + chunk.toString('latin1')).slice(-8192);
      for (const match of pending.matchAll(/(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]\r\n/g))
        requests.push(`${match[1] ?? ''} ${match[2] ?? ''}`);
      const last = pending.lastIndexOf('HTTP/1.');
      if (last >= 0) pending = pending.slice(last);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    host: `unix://${path}`,
    requests,
    close: async () => {
      server.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

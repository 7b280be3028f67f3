// A real Docker registry on loopback: Debian's docker-registry package (the registry's own server,
// distribution 2.x), storage in a temporary folder. The engine pulls from and pushes to 127.0.0.1
// without TLS (loopback registries are insecure-allowed by default).
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './project.js';

export interface Registry {
  /** host:port, the prefix of its image names. */
  readonly host: string;
  stop(): Promise<void>;
  /** Starts it again on the same port and storage (after stop). */
  restart(): Promise<void>;
  /** Stops it and removes its storage. */
  dispose(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const folder = await mkdtemp(join(tmpdir(), 'stackctl-registry-'));
  const port = await freePort();
  const config = join(folder, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${join(folder, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: 127.0.0.1:${String(port)} }`,
      '',
    ].join('\n'),
  );
  let server: ResultPromise | undefined;
  const launch = async (): Promise<void> => {
    server = execa('docker-registry', ['serve', config], { reject: false, stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const answer = await fetch(`http://127.0.0.1:${String(port)}/v2/`).catch(() => undefined);
      if (answer?.ok === true) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the registry did not answer');
  };
  const halt = async (): Promise<void> => {
    server?.kill('SIGTERM');
    await server;
    server = undefined;
  };
  await launch();
  return {
    host: `127.0.0.1:${String(port)}`,
    stop: halt,
    restart: launch,
    dispose: async () => {
      await halt();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** Builds an image from a Dockerfile text and files, tagged `tag`. */
export async function buildImage(
  tag: string,
  dockerfile: string,
  files: Record<string, string> = {},
): Promise<string> {
  const context = await mkdtemp(join(tmpdir(), 'stackctl-image-'));
  try {
    await writeFile(join(context, 'Dockerfile'), dockerfile);
    for (const [name, content] of Object.entries(files)) await writeFile(join(context, name), content);
    await execa('docker', ['build', '-q', '-t', tag, context]);
    return (await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', tag])).stdout.trim();
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** Pushes `local` to the registry as `remote` (host/name:tag). */
export async function pushAs(local: string, remote: string): Promise<void> {
  await execa('docker', ['tag', local, remote]);
  await execa('docker', ['push', '-q', remote]);
}

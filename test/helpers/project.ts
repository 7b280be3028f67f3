import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, SCHEMA_FIXTURES, SHIPPED_SCHEMA } from './paths.js';

/** A throwaway project folder holding schemas/compose-schema.yaml. */
export interface TempProject {
  readonly root: string;
  remove(): Promise<void>;
}

export async function shippedProject(): Promise<TempProject> {
  const root = await mkdtemp(join(tmpdir(), 'stackctl-project-'));
  await mkdir(join(root, 'schemas'));
  await copyFile(SHIPPED_SCHEMA, join(root, 'schemas', 'compose-schema.yaml'));
  // The project's own files the schema mounts, as a checkout has them.
  await mkdir(join(root, 'configs', 'postgres'), { recursive: true });
  await copyFile(
    join(REPO_ROOT, 'configs', 'postgres', 'init.sql'),
    join(root, 'configs', 'postgres', 'init.sql'),
  );
  return { root, remove: () => rm(root, { recursive: true, force: true }) };
}

/**
 * A project from test/fixtures/schemas/minimal.yaml, with its two host ports moved to ports that are
 * free right now and its address pools moved to `pool` (a /20 and the /20 after it).
 */
export async function minimalProject(
  options: { pool?: [string, string] } = {},
): Promise<TempProject & { ports: number[] }> {
  const root = await mkdtemp(join(tmpdir(), 'stackctl-project-'));
  await mkdir(join(root, 'schemas'));
  const ports = [await freePort(), await freePort()];
  let text = await readFile(join(SCHEMA_FIXTURES, 'minimal.yaml'), 'utf8');
  text = text
    .replace('default: 5432,', `default: ${ports[0]},`)
    .replace('default: 8000,', `default: ${ports[1]},`);
  if (options.pool) {
    text = text.replace('addressPool: 10.40.0.0/20', `addressPool: ${options.pool[0]}`);
    text = text.replace('addressPool: 10.40.16.0/20', `addressPool: ${options.pool[1]}`);
  }
  await writeFile(join(root, 'schemas', 'compose-schema.yaml'), text);
  return { root, ports, remove: () => rm(root, { recursive: true, force: true }) };
}

/** A TCP port nobody listens on (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

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

/**
 * Ports handed out by this test file, so one file never gets the same port twice before binding it.
 */
const handedOut = new Set<number>();

/**
 * A TCP port nobody listens on, from a range of this vitest worker's own below the kernel's
 * ephemeral range (32768-60999 here): a port the kernel picks is free only until it picks it again,
 * for an outgoing connection or for the file running beside this one, before Docker binds it.
 */
export async function freePort(): Promise<number> {
  const worker = Number(process.env.VITEST_POOL_ID ?? '1');
  const span = 2000;
  const base = 20_000 + ((worker - 1) % 6) * span;
  const start = Math.floor(Math.random() * span);
  for (let step = 0; step < span; step += 1) {
    const port = base + ((start + step) % span);
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${base}-${base + span - 1}`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolve(true)));
  });
}

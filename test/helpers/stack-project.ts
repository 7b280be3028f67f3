import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './project.js';
import { REPO_ROOT } from './paths.js';

export interface StackProject {
  readonly root: string;
  /** The project name (unique per test run), as labels carry it. */
  readonly name: string;
  readonly webPort: number;
  remove(): Promise<void>;
}

/** The user overlay test projects start with: a label on db, which tests can see on its container. */
export const USER_OVERLAY = [
  'services:',
  '  db:',
  '    labels:',
  '      io.stackctl.test-overlay: present',
  '',
].join('\n');

/**
 * A temporary project running test/fixtures/stacks/app.yaml under a unique name and free port.
 * Test files run in parallel: each passes its own second octet so their subnets never overlap.
 */
export async function stackProject(
  octet: number,
  transform: (schema: string) => string = (s) => s,
): Promise<StackProject> {
  const root = await mkdtemp(join(tmpdir(), 'stackctl-stack-'));
  await mkdir(join(root, 'schemas'));
  // Test files may share one process (and pid): the octet, unique per file, keeps names apart.
  const name = `stk${octet}p${process.pid}`;
  const webPort = await freePort();
  const text = (await readFile(join(REPO_ROOT, 'test', 'fixtures', 'stacks', 'app.yaml'), 'utf8'))
    .replace('name: stktest', `name: ${name}`)
    .replace('default: 18080,', `default: ${webPort},`)
    .replaceAll('addressPool: 10.250.', `addressPool: 10.${octet}.`);
  await writeFile(join(root, 'schemas', 'compose-schema.yaml'), transform(text));
  // Every test runs with a user overlay present, as users run: compose reads it last.
  await mkdir(join(root, 'compose'));
  await writeFile(join(root, 'compose', 'local.override.yml'), USER_OVERLAY);
  return {
    root,
    name,
    webPort,
    remove: async () => {
      await removeByLabel(`io.stackctl.project=${name}`);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Removes every container, network and volume with this label (what tests create, nothing else). */
export async function removeByLabel(label: string): Promise<void> {
  const ids = async (kind: string[]): Promise<string[]> =>
    (await execa('docker', [...kind, '-q', '--filter', `label=${label}`])).stdout.split('\n').filter(Boolean);
  const containers = await ids(['ps', '-a']);
  if (containers.length > 0) await execa('docker', ['rm', '-f', ...containers]);
  const networks = await ids(['network', 'ls']);
  if (networks.length > 0) await execa('docker', ['network', 'rm', ...networks]);
  const volumes = await ids(['volume', 'ls']);
  if (volumes.length > 0) await execa('docker', ['volume', 'rm', ...volumes]);
}

export async function inspect(container: string): Promise<{
  State: { Status: string; StartedAt: string; FinishedAt: string; Health?: { Status: string } };
  Id: string;
  /** The image ID it was created from. */
  Image: string;
}> {
  const result = await execa('docker', ['inspect', container]);
  return (JSON.parse(result.stdout) as never[])[0] as never;
}

/** The lock claims of an environment that exist now (.stackctl/locks/<env>.*.lock). */
export async function lockClaims(root: string, env: string): Promise<string[]> {
  const names = await readdir(join(root, '.stackctl', 'locks')).catch(() => [] as string[]);
  return names.filter((name) => name.startsWith(`${env}.`) && name.endsWith('.lock'));
}

/** The DB_PASSWORD the test stack's store holds for an environment (tests compare, never print). */
export async function storedDbPassword(root: string, env: string): Promise<string> {
  const store = JSON.parse(await readFile(join(root, 'secrets', `.env.${env}.json`), 'utf8')) as {
    secrets: { DB_PASSWORD: { value: string } };
  };
  return store.secrets.DB_PASSWORD.value;
}

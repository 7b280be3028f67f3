import type Docker from 'dockerode';
import { execa } from 'execa';
import { join } from 'node:path';
import { StackctlError } from '../errors.js';
import type { RotationDef } from '../schema/types.js';
import { projectContainers } from './containers.js';
import { dockerCliEnvironment } from './docker.js';
import { ensureDirectory, readRegularText, writeFileAtomic } from './files.js';
import { stateDirectory } from './state.js';

/** A secret whose new value must be applied inside the service that keeps it. */
export interface LiveRotation {
  readonly name: string;
  readonly method: 'postgres' | 'redis';
  readonly service: string;
  /** postgres: the role, variables already applied. */
  readonly role?: string;
}

export function liveRotation(
  name: string,
  rotation: RotationDef | undefined,
  role: string | undefined,
): LiveRotation | undefined {
  if (rotation === undefined || rotation.method === 'manual' || rotation.service === undefined)
    return undefined;
  return {
    name,
    method: rotation.method,
    service: rotation.service,
    ...(role === undefined ? {} : { role }),
  };
}

/** The running container of a service, or undefined when it is not running. */
export async function runningContainer(
  docker: Docker,
  project: string,
  service: string,
): Promise<string | undefined> {
  const containers = await projectContainers(docker, project, service);
  return containers.find((container) => container.status === 'running')?.id;
}

/**
 * Applies a new credential inside the running service that keeps it: PostgreSQL `ALTER ROLE ...
 * PASSWORD` over the container's local socket, Redis `CONFIG SET requirepass`. Values travel
 * through stdin and the environment, never on a command line.
 */
export async function applyInService(
  containerId: string,
  rotation: LiveRotation,
  values: { readonly previous: string; readonly next: string },
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<void> {
  const run = (args: string[], input: string, extra: Record<string, string> = {}) =>
    execa('docker', ['exec', '-i', ...args], {
      input,
      env: { ...dockerCliEnvironment(env), ...extra },
      reject: false,
      cancelSignal: signal,
    });
  if (rotation.method === 'postgres') {
    const role = rotation.role ?? 'postgres';
    const sql = `ALTER ROLE "${role.replace(/"/g, '""')}" PASSWORD '${values.next.replace(/'/g, "''")}';\n`;
    const result = await run(
      ['-u', 'postgres', containerId, 'psql', '-v', 'ON_ERROR_STOP=1', '-U', role, '-d', 'postgres', '-q'],
      sql,
    );
    if (result.exitCode !== 0) throw failure(rotation, result.stderr);
    return;
  }
  const quoted = `"${values.next.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const result = await run(
    ['-e', 'REDISCLI_AUTH', containerId, 'redis-cli'],
    `CONFIG SET requirepass ${quoted}\n`,
    {
      REDISCLI_AUTH: values.previous,
    },
  );
  if (result.exitCode !== 0 || !result.stdout.includes('OK'))
    throw failure(rotation, result.stdout || result.stderr);
}

/**
 * Whether a stored credential still opens the service that keeps it, asked the way a client
 * logs in: PostgreSQL over TCP inside its container (a password login, not the local socket's
 * trust), Redis with AUTH. Undefined when it cannot be told (no client in the image, not
 * accepting connections yet). The value travels in the environment only.
 */
export async function credentialOpens(
  containerId: string,
  rotation: LiveRotation,
  value: string,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<boolean | undefined> {
  const variable = rotation.method === 'postgres' ? 'PGPASSWORD' : 'REDISCLI_AUTH';
  const command =
    rotation.method === 'postgres'
      ? ['psql', '-h', '127.0.0.1', '-U', rotation.role ?? 'postgres', '-d', 'postgres', '-tAc', 'select 1']
      : ['redis-cli', '--no-auth-warning', 'ping'];
  const result = await execa('docker', ['exec', '-e', variable, containerId, ...command], {
    env: { ...dockerCliEnvironment(env), [variable]: value },
    reject: false,
    timeout: 10_000,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  const output = `${result.stdout}\n${result.stderr}`;
  if (rotation.method === 'postgres') {
    if (result.exitCode === 0 && result.stdout.trim() === '1') return true;
    return /password authentication failed|no password supplied/i.test(output) ? false : undefined;
  }
  if (/PONG/.test(result.stdout)) return true;
  return /WRONGPASS|NOAUTH|invalid password/i.test(output) ? false : undefined;
}

function failure(rotation: LiveRotation, output: string): StackctlError {
  return new StackctlError(
    'E_RUNTIME',
    `could not apply the new ${rotation.name} in ${rotation.service}: ${output.trim().split('\n').at(-1) ?? 'no output'}`,
    {
      hint: 'nothing was rotated: the old value still holds everywhere; check the service (stackctl logs ENV SERVICE)',
    },
  );
}

const pendingPath = (root: string, environment: string): string =>
  join(stateDirectory(root), `pending-rotations-${environment}.json`);

/** Rotations made while the environment was down: applied at its next start (names only, no values). */
export async function readPendingRotations(root: string, environment: string): Promise<LiveRotation[]> {
  const text = await readRegularText(pendingPath(root, environment));
  try {
    return text === undefined ? [] : (JSON.parse(text) as LiveRotation[]);
  } catch {
    return [];
  }
}

export async function writePendingRotations(
  root: string,
  environment: string,
  pending: readonly LiveRotation[],
): Promise<void> {
  await ensureDirectory(stateDirectory(root), 0o755);
  await writeFileAtomic(pendingPath(root, environment), `${JSON.stringify(pending, null, 2)}\n`);
}

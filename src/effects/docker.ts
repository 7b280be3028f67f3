import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { dockerConnection } from './docker-connection.js';

export { dockerConnection, type DockerConnection } from './docker-connection.js';

/** The environment for a docker CLI or compose process: the user's, pointed at the daemon stackctl uses. */
export function dockerCliEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, ...dockerConnection(env).cliEnv };
}

export function dockerClient(env: NodeJS.ProcessEnv): Docker {
  return new Docker(dockerConnection(env).options);
}

export type ComposeFlavour = {
  readonly flavour: 'v2' | 'v1';
  readonly version: string;
  readonly command: readonly string[];
};

/**
 * Where the docker CLI looks for plugins, in its order: the user's config folder, then the system's.
 * https://docs.docker.com/engine/extend/cli_plugins/
 */
function pluginFolders(env: NodeJS.ProcessEnv): string[] {
  return [
    join(env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'cli-plugins'),
    '/usr/local/lib/docker/cli-plugins',
    '/usr/local/libexec/docker/cli-plugins',
    '/usr/lib/docker/cli-plugins',
    '/usr/libexec/docker/cli-plugins',
  ];
}

/**
 * docker compose (v2 plugin) when present, else docker-compose (v1 or a standalone v2), else null.
 * The plugin is run as the standalone program it also is: `docker compose` would start the docker
 * CLI and ask the plugin for its metadata first, about 0.1 s per call, on every call.
 */
export async function findCompose(env: NodeJS.ProcessEnv): Promise<ComposeFlavour | null> {
  for (const folder of pluginFolders(env)) {
    const path = join(folder, 'docker-compose');
    if (!(await isExecutable(path))) continue;
    const direct = await execa(path, ['version', '--short'], {
      reject: false,
      env: dockerCliEnvironment(env),
      timeout: 10_000,
    });
    if (direct.exitCode === 0 && direct.stdout.trim() !== '')
      return { flavour: 'v2', version: direct.stdout.trim().replace(/^v/, ''), command: [path] };
    break; // the CLI would pick this one: let it say what is wrong with it below
  }
  const plugin = await execa('docker', ['compose', 'version', '--short'], {
    reject: false,
    env: dockerCliEnvironment(env),
    timeout: 10_000,
  });
  if (plugin.exitCode === 0 && plugin.stdout.trim() !== '') {
    return { flavour: 'v2', version: plugin.stdout.trim().replace(/^v/, ''), command: ['docker', 'compose'] };
  }
  const standalone = await execa('docker-compose', ['version', '--short'], {
    reject: false,
    env: dockerCliEnvironment(env),
    timeout: 10_000,
  });
  if (standalone.exitCode === 0 && standalone.stdout.trim() !== '') {
    const version = standalone.stdout.trim().replace(/^v/, '');
    return { flavour: version.startsWith('1.') ? 'v1' : 'v2', version, command: ['docker-compose'] };
  }
  return null;
}

export async function dockerCliVersion(env: NodeJS.ProcessEnv): Promise<string | null> {
  const result = await execa('docker', ['--version'], {
    reject: false,
    env: dockerCliEnvironment(env),
    timeout: 10_000,
  });
  if (result.exitCode !== 0) return null;
  return /version ([^\s,]+)/.exec(result.stdout)?.[1] ?? result.stdout.trim();
}

/** The HTTP status of a failed Docker API call (304 not modified, 404 gone, 403 in use...). */
export function dockerStatusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** Docker's own message from a failed API call, without dockerode's wrapping. */
export function dockerReason(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  if (json?.message) return json.message;
  return error instanceof Error ? error.message : String(error);
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

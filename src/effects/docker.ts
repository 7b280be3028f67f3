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

/** docker compose (v2 plugin) when present, else docker-compose (v1 or a standalone v2), else null. */
export async function findCompose(env: NodeJS.ProcessEnv): Promise<ComposeFlavour | null> {
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

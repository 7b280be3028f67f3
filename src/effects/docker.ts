import Docker from 'dockerode';
import { execa } from 'execa';
import { StackctlError } from '../errors.js';
import { excerpt } from '../text.js';

export interface DockerConnection {
  /** DOCKER_HOST as the user gave it, or the default socket. */
  readonly host: string;
  readonly options: Docker.DockerOptions;
}

/** Where the Docker API is: DOCKER_HOST (unix://, tcp://, ssh://) or /var/run/docker.sock. */
export function dockerConnection(env: NodeJS.ProcessEnv): DockerConnection {
  const host = env['DOCKER_HOST'];
  if (host === undefined || host === '') {
    return { host: 'unix:///var/run/docker.sock', options: { socketPath: '/var/run/docker.sock' } };
  }
  const url = URL.canParse(host) ? new URL(host) : undefined;
  if (!url || !['unix:', 'tcp:', 'http:', 'https:', 'ssh:'].includes(url.protocol)) {
    throw new StackctlError(
      'E_USAGE',
      `DOCKER_HOST "${excerpt(host)}" is not an address Docker understands`,
      {
        hint: 'use unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST, or unset DOCKER_HOST',
      },
    );
  }
  switch (url.protocol) {
    case 'unix:':
      return { host, options: { socketPath: url.pathname } };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = url.protocol === 'https:' || (env['DOCKER_TLS_VERIFY'] ?? '') !== '';
      return {
        host,
        options: {
          host: url.hostname,
          port: Number(url.port || (tls ? 2376 : 2375)),
          protocol: tls ? 'https' : 'http',
        },
      };
    }
    case 'ssh:':
      return {
        host,
        options: {
          host: url.hostname,
          port: Number(url.port || 22),
          username: url.username || undefined,
          protocol: 'ssh',
        },
      };
  }
  return { host, options: { socketPath: url.pathname } };
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
    env,
    timeout: 10_000,
  });
  if (plugin.exitCode === 0 && plugin.stdout.trim() !== '') {
    return { flavour: 'v2', version: plugin.stdout.trim().replace(/^v/, ''), command: ['docker', 'compose'] };
  }
  const standalone = await execa('docker-compose', ['version', '--short'], {
    reject: false,
    env,
    timeout: 10_000,
  });
  if (standalone.exitCode === 0 && standalone.stdout.trim() !== '') {
    const version = standalone.stdout.trim().replace(/^v/, '');
    return { flavour: version.startsWith('1.') ? 'v1' : 'v2', version, command: ['docker-compose'] };
  }
  return null;
}

export async function dockerCliVersion(env: NodeJS.ProcessEnv): Promise<string | null> {
  const result = await execa('docker', ['--version'], { reject: false, env, timeout: 10_000 });
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

// Where the Docker API is, as the docker CLI decides it. Kept apart from the Docker client so that
// commands making one API call (status) need not load it.
import type Docker from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StackctlError } from '../errors.js';
import { excerpt } from '../text.js';

export interface DockerConnection {
  /** The daemon's address (unix://, tcp://, ssh://). */
  readonly host: string;
  /** Where it came from: DOCKER_HOST, a docker context, or the default socket. */
  readonly source: string;
  readonly options: Docker.DockerOptions;
  /**
   * DOCKER_HOST and its TLS settings for the docker CLI and compose, so every process stackctl runs
   * talks to this same daemon.
   */
  readonly cliEnv: Readonly<Record<string, string>>;
}

const DEFAULT_HOST = 'unix:///var/run/docker.sock';

/**
 * Where the Docker API is, decided the way the docker CLI decides it: DOCKER_HOST (with
 * DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else the context DOCKER_CONTEXT names, else the current
 * context of the docker config ($DOCKER_CONFIG/config.json), else the default socket.
 */
export function dockerConnection(env: NodeJS.ProcessEnv): DockerConnection {
  const host = env['DOCKER_HOST'];
  if (host !== undefined && host !== '') {
    const certPath = env['DOCKER_CERT_PATH'];
    const tls = (env['DOCKER_TLS_VERIFY'] ?? '') !== '' ? { verify: true, certPath } : undefined;
    return connectionTo(host, 'DOCKER_HOST', tls);
  }
  const configDir = env['DOCKER_CONFIG'] || join(env['HOME'] ?? homedir(), '.docker');
  const named = env['DOCKER_CONTEXT'] || readCurrentContext(configDir);
  if (named === undefined || named === '' || named === 'default')
    return connectionTo(DEFAULT_HOST, 'the default socket', undefined);
  // Loaded here only: most runs use the default socket, and crypto is a tenth of status's start.
  const id = process.getBuiltinModule('node:crypto').createHash('sha256').update(named).digest('hex');
  const meta = readJson(join(configDir, 'contexts', 'meta', id, 'meta.json')) as
    { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } } | undefined;
  const endpoint = meta?.Endpoints?.docker;
  if (endpoint?.Host === undefined) {
    throw new StackctlError('E_USAGE', `docker context "${excerpt(named)}" does not exist`, {
      hint: `see docker context ls; ${env['DOCKER_CONTEXT'] ? 'change or unset DOCKER_CONTEXT' : 'docker context use default'}`,
    });
  }
  const tlsDir = join(configDir, 'contexts', 'tls', id, 'docker');
  const tls =
    existsSync(join(tlsDir, 'cert.pem')) || existsSync(join(tlsDir, 'ca.pem'))
      ? { verify: endpoint.SkipTLSVerify !== true, certPath: tlsDir }
      : undefined;
  return connectionTo(endpoint.Host, `docker context "${named}"`, tls);
}

function connectionTo(
  host: string,
  source: string,
  tls: { verify: boolean; certPath: string | undefined } | undefined,
): DockerConnection {
  const url = URL.canParse(host) ? new URL(host) : undefined;
  if (!url || !['unix:', 'tcp:', 'http:', 'https:', 'ssh:'].includes(url.protocol)) {
    throw new StackctlError(
      'E_USAGE',
      `${source === 'DOCKER_HOST' ? 'DOCKER_HOST' : `the Docker address of ${source}`} "${excerpt(host)}" is not an address Docker understands`,
      {
        hint: 'use unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST, or unset DOCKER_HOST',
      },
    );
  }
  const cliEnv: Record<string, string> = { DOCKER_HOST: host };
  if (tls) {
    if (tls.verify) cliEnv['DOCKER_TLS_VERIFY'] = '1';
    if (tls.certPath) cliEnv['DOCKER_CERT_PATH'] = tls.certPath;
  }
  const base = { host, source, cliEnv };
  switch (url.protocol) {
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const secure = url.protocol === 'https:' || tls !== undefined;
      const certs = tls?.certPath ? readCertificates(tls.certPath) : {};
      return {
        ...base,
        options: {
          host: url.hostname,
          port: Number(url.port || (secure ? 2376 : 2375)),
          protocol: secure ? 'https' : 'http',
          ...certs,
        },
      };
    }
    case 'ssh:':
      return {
        ...base,
        options: {
          host: url.hostname,
          port: Number(url.port || 22),
          username: url.username || undefined,
          protocol: 'ssh',
        },
      };
    default:
      return { ...base, options: { socketPath: url.pathname } };
  }
}

function readCurrentContext(configDir: string): string | undefined {
  const config = readJson(join(configDir, 'config.json')) as { currentContext?: string } | undefined;
  return config?.currentContext;
}

function readCertificates(folder: string): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (name: string): Buffer | undefined => {
    try {
      return readFileSync(join(folder, name));
    } catch {
      return undefined;
    }
  };
  const [ca, cert, key] = [read('ca.pem'), read('cert.pem'), read('key.pem')];
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

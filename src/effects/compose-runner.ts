import { execa } from 'execa';
import { StackctlError } from '../errors.js';
import { dockerCliEnvironment, findCompose, type ComposeFlavour } from './docker.js';

/** Finds compose (v2 plugin first, docker-compose as fallback) or says clearly that neither exists. */
export async function requireCompose(env: NodeJS.ProcessEnv): Promise<ComposeFlavour> {
  const compose = await findCompose(env);
  if (compose === null) {
    throw new StackctlError('E_PREFLIGHT', 'neither `docker compose` nor `docker-compose` is installed', {
      hint: 'install the Docker Compose v2 plugin (package docker-compose-plugin or docker-compose)',
    });
  }
  return compose;
}

export interface ComposeRun {
  readonly exitCode: number;
  /** stdout and stderr together, with known secret values redacted. */
  readonly output: string;
}

/** Runs one compose command. Secrets reach compose through the env file, never through argv. */
export async function runCompose(
  compose: ComposeFlavour,
  args: readonly string[],
  options: {
    env: NodeJS.ProcessEnv;
    signal?: AbortSignal;
    redact: (text: string) => string;
    /** Each line compose prints, redacted, as it comes. */
    onLine?: (line: string) => void;
  },
): Promise<ComposeRun> {
  const [program, ...prefix] = compose.command;
  const subprocess = execa(program ?? 'docker', [...prefix, ...args], {
    reject: false,
    all: true,
    env: { ...dockerCliEnvironment(options.env), COMPOSE_STATUS_STDOUT: '1' },
    extendEnv: false,
    cancelSignal: options.signal,
    stdin: 'ignore',
  });
  const { onLine } = options;
  if (onLine) {
    let pending = '';
    subprocess.all?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') onLine(options.redact(line));
    });
  }
  const result = await subprocess;
  if (result.isCanceled) throw options.signal?.reason ?? new Error('cancelled');
  return { exitCode: result.exitCode ?? 1, output: options.redact(result.all ?? '') };
}

/**
 * The configuration compose resolves from every file (`config --format json`), parsed; stdout only,
 * never printed (it holds the env file's secret values). A failure is compose's own message, redacted.
 */
export async function readComposeConfig(
  compose: ComposeFlavour,
  baseArgs: readonly string[],
  options: { env: NodeJS.ProcessEnv; signal?: AbortSignal; redact: (text: string) => string },
): Promise<unknown> {
  const [program, ...prefix] = compose.command;
  const result = await execa(program ?? 'docker', [...prefix, ...baseArgs, 'config', '--format', 'json'], {
    reject: false,
    env: dockerCliEnvironment(options.env),
    extendEnv: false,
    cancelSignal: options.signal,
    stdin: 'ignore',
  });
  if (result.isCanceled) throw options.signal?.reason ?? new Error('cancelled');
  if (result.exitCode === 0) {
    try {
      return JSON.parse(result.stdout) as unknown;
    } catch {
      // Not JSON (docker-compose v1 has no --format): fall through to the error below.
    }
  }
  throw new StackctlError(
    'E_USAGE',
    `docker compose config rejects the files: ${options.redact(lastLine(result.stderr))}`,
    {
      hint: 'fix what it names (compose/local.override.yml is yours; the rest is generated: stackctl generate)',
    },
  );
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? 'no output';
}

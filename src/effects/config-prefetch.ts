// `docker compose config` is on the critical path of every start: start plans from what compose
// resolves. Its arguments only change when the schema or the generated files do, so the start
// command runs it at once with the arguments the last start recorded, while the rest of stackctl
// loads, the schema is read and the files are planned; start uses the answer only when it turns out
// to have asked the same question (same program, arguments and environment, files on disk unchanged).
// Only node built-ins and small modules here: it runs before the rest of stackctl is loaded.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { dockerConnection } from './docker-connection.js';
import { readRegularText, ensureDirectory, writeFileAtomic } from './files.js';
import { findSchemaPath } from './schema-file.js';
import { projectRoot } from '../model/stack.js';

/** How the last start ran compose for an environment (no value of any variable: only names). */
export interface ComposeInvocation {
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** Variables left out of compose's environment: the schema's, so the env file is their only source. */
  readonly withheld: readonly string[];
}

/** A compose config run started ahead, and what it was started with. */
export interface PrefetchedConfig {
  readonly invocation: ComposeInvocation;
  readonly env: NodeJS.ProcessEnv;
  readonly document: Promise<unknown>;
  /** Stops it when start asked something else. */
  readonly discard: () => void;
}

/** COMPOSE_* settings that would override what stackctl passes; never passed on. */
const COMPOSE_OVERRIDES = ['COMPOSE_PROJECT_NAME', 'COMPOSE_PROFILES', 'COMPOSE_FILE', 'COMPOSE_ENV_FILES'];

/** The environment compose runs with: the user's, minus the withheld variables and COMPOSE_* overrides. */
export function withoutVariables(env: NodeJS.ProcessEnv, withheld: readonly string[]): NodeJS.ProcessEnv {
  const skip = new Set([...withheld, ...COMPOSE_OVERRIDES]);
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!skip.has(name)) out[name] = value;
  return out;
}

function invocationPath(root: string, envName: string): string {
  return join(root, '.stackctl', `compose-${envName}.json`);
}

const started = new Map<string, PrefetchedConfig>();

/**
 * Starts `compose config` with the arguments the last start of this environment used, if one
 * recorded them. Never fails: without a record, or on any error, start reads the config itself.
 */
export async function prefetchComposeConfig(
  schemaFlag: string | undefined,
  envName: string,
  io: { cwd: string; env: NodeJS.ProcessEnv; signal: AbortSignal },
): Promise<void> {
  try {
    const root = projectRoot(await findSchemaPath(schemaFlag, io.cwd));
    const invocation = parseInvocation(await readRegularText(invocationPath(root, envName)));
    const [program, ...prefix] = invocation?.command ?? [];
    if (!invocation || program === undefined) return;
    const env = { ...withoutVariables(io.env, invocation.withheld), ...dockerConnection(io.env).cliEnv };
    const child = spawn(program, [...prefix, ...invocation.args, 'config', '--format', 'json'], {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
      signal: io.signal,
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const document = new Promise<unknown>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`compose config exited ${code}`));
        else {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        }
      });
    });
    document.catch(() => undefined); // start reads the config itself then
    started.set(key(root, envName), {
      invocation,
      env,
      document,
      discard: () => {
        if (child.exitCode === null) child.kill();
      },
    });
  } catch {
    // No project here, or no record: nothing to start ahead.
  }
}

/** The compose config run started ahead for this environment, once (later callers get nothing). */
export function takePrefetchedConfig(root: string, envName: string): PrefetchedConfig | undefined {
  const found = started.get(key(root, envName));
  started.delete(key(root, envName));
  return found;
}

/** Whether a run started ahead asked what start asks now: same program, arguments and environment. */
export function prefetchAnswers(
  prefetched: Pick<PrefetchedConfig, 'invocation' | 'env'>,
  command: readonly string[],
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): boolean {
  const same = (a: readonly string[], b: readonly string[]): boolean =>
    a.length === b.length && a.every((item, index) => item === b[index]);
  const names = Object.keys(env);
  return (
    same(prefetched.invocation.command, command) &&
    same(prefetched.invocation.args, args) &&
    names.length === Object.keys(prefetched.env).length &&
    names.every((name) => prefetched.env[name] === env[name])
  );
}

/** Records how start ran compose, for the next start to run it ahead (written only when it changed). */
export async function recordComposeInvocation(
  root: string,
  envName: string,
  invocation: ComposeInvocation,
): Promise<void> {
  const path = invocationPath(root, envName);
  const text = `${JSON.stringify(invocation, null, 2)}\n`;
  if ((await readRegularText(path)) === text) return;
  await ensureDirectory(join(root, '.stackctl'), 0o755);
  await writeFileAtomic(path, text);
}

function key(root: string, envName: string): string {
  return `${root}\0${envName}`;
}

function parseInvocation(text: string | undefined): ComposeInvocation | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ComposeInvocation>;
    const strings = (list: unknown): list is string[] =>
      Array.isArray(list) && list.every((item) => typeof item === 'string');
    if (strings(value.command) && strings(value.args) && strings(value.withheld))
      return { command: value.command, args: value.args, withheld: value.withheld };
  } catch {
    // not a record stackctl wrote
  }
  return undefined;
}

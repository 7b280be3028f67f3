// Getting data out of running services and back in: pg_dump/pg_restore and redis-cli through
// `docker exec`, volume copies through `docker cp`. Dumps are streamed, never held in memory.
// Passwords travel in the docker CLI's environment (`-e NAME`), never on a command line.
import { execa, type ResultPromise } from 'execa';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackctlError } from '../../errors.js';
import { LABELS } from '../../labels.js';
import { dockerCliEnvironment } from '../docker.js';
import { markedScript, wholeOutput } from '../one-off-output.js';

export interface ExecContext {
  readonly env: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

/** A running command whose stdout is an artifact: read `stdout`, then await `done`. */
export interface StreamedCommand {
  readonly stdout: Readable;
  /** Resolves when the command exited 0; rejects with its last error line otherwise. */
  readonly done: Promise<void>;
}

function docker(
  args: string[],
  ctx: ExecContext,
  extra: Record<string, string> = {},
  input?: Readable,
  streamOut = false,
) {
  const child = execa('docker', args, {
    env: { ...dockerCliEnvironment(ctx.env), ...extra },
    reject: false,
    ...(ctx.signal ? { cancelSignal: ctx.signal } : {}),
    stdin: input ? 'pipe' : 'ignore',
    // An artifact streams through stdout, never buffered whole.
    buffer: { stdout: !streamOut, stderr: true },
  });
  // Streamed in with backpressure; a source that fails closes stdin, so the command fails too.
  if (input && child.stdin) pipeline(input, child.stdin).catch(() => child.stdin?.destroy());
  return child;
}

/** A docker command whose stdout is an artifact. */
function dockerStream(args: string[], ctx: ExecContext, what: string): StreamedCommand {
  return streamed(docker(args, ctx, {}, undefined, true), what);
}

function streamed(child: ResultPromise, what: string): StreamedCommand {
  const stdout = child.stdout;
  if (!stdout) throw new Error('no stdout');
  const done = (async () => {
    const result = await child;
    if (result.exitCode !== 0 || result.isCanceled)
      throw new StackctlError(
        'E_RUNTIME',
        `${what} failed: ${lastLine(String(result.stderr ?? '')) || `exit ${result.exitCode}`}`,
      );
  })();
  // The failure is reported by `done`; a pipeline that already failed must not leave it unhandled.
  done.catch(() => undefined);
  return { stdout, done };
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1) ?? '';
}

/** pg_dump in custom format over the container's local socket, streamed out. */
export function pgDump(
  container: string,
  step: { database: string; user: string; type: 'full' | 'schema' | 'data' },
  ctx: ExecContext,
): StreamedCommand {
  const only = step.type === 'schema' ? ['--schema-only'] : step.type === 'data' ? ['--data-only'] : [];
  return dockerStream(
    [
      'exec',
      '-u',
      'postgres',
      container,
      'pg_dump',
      '--format=custom',
      '-U',
      step.user,
      '-d',
      step.database,
      ...only,
    ],
    ctx,
    `pg_dump of ${step.database}`,
  );
}

/**
 * pg_restore of a custom-format dump streamed in. A full or schema dump replaces what it holds
 * (--clean --if-exists); everything runs in one transaction, so a failed restore changes nothing.
 */
export async function pgRestore(
  container: string,
  step: { database: string; user: string; type: string },
  dump: Readable,
  ctx: ExecContext,
): Promise<void> {
  const clean = step.type === 'data' ? ['--data-only'] : ['--clean', '--if-exists'];
  const child = docker(
    [
      'exec',
      '-i',
      '-u',
      'postgres',
      container,
      'pg_restore',
      '--single-transaction',
      '--exit-on-error',
      '--no-owner',
      ...clean,
      '-U',
      step.user,
      '-d',
      step.database,
    ],
    ctx,
    {},
    dump,
  );
  const result = await child;
  if (result.exitCode !== 0)
    throw new StackctlError(
      'E_RUNTIME',
      `pg_restore into ${step.database} failed: ${lastLine(String(result.stderr))}`,
      {
        hint: 'it ran in one transaction: the database is as it was before the restore',
      },
    );
}

/** One redis-cli command in the container; the password goes in REDISCLI_AUTH. */
async function redisCli(
  container: string,
  args: string[],
  password: string | undefined,
  ctx: ExecContext,
): Promise<string> {
  const auth: Record<string, string> = password === undefined ? {} : { REDISCLI_AUTH: password };
  const result = await docker(
    [
      'exec',
      ...(password === undefined ? [] : ['-e', 'REDISCLI_AUTH']),
      container,
      'redis-cli',
      '--no-auth-warning',
      ...args,
    ],
    ctx,
    auth,
  );
  const output = String(result.stdout ?? '').trim();
  if (result.exitCode !== 0 || /^(ERR|NOAUTH|WRONGPASS)/.test(output))
    throw new StackctlError(
      'E_RUNTIME',
      `redis-cli ${args[0]} failed: ${lastLine(output || String(result.stderr))}`,
    );
  return output;
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/** CONFIG GET of one setting. */
async function redisConfig(
  container: string,
  name: string,
  password: string | undefined,
  ctx: ExecContext,
): Promise<string> {
  const lines = (await redisCli(container, ['CONFIG', 'GET', name], password, ctx)).split('\n');
  return lines[1]?.trim() ?? '';
}

/**
 * A fresh snapshot, waited for: BGSAVE (or BGREWRITEAOF for the AOF), then the persistence counters
 * until it is done, then the file(s) streamed out of the container.
 */
export async function redisSnapshot(
  container: string,
  type: 'rdb' | 'aof',
  password: string | undefined,
  ctx: ExecContext,
): Promise<StreamedCommand> {
  const counter = type === 'rdb' ? 'rdb_saves' : 'aof_rewrites';
  const inProgress = type === 'rdb' ? 'rdb_bgsave_in_progress' : 'aof_rewrite_in_progress';
  const status = type === 'rdb' ? 'rdb_last_bgsave_status' : 'aof_last_bgrewrite_status';
  const persistence = () => redisCli(container, ['INFO', 'persistence'], password, ctx);
  // A save already running was started before this backup: wait for it, then take a fresh one.
  for (let info = await persistence(); infoField(info, inProgress) === '1'; info = await persistence())
    await sleep(100, undefined, { signal: ctx.signal });
  const before = Number(infoField(await persistence(), counter) ?? 'NaN');
  if (type === 'aof' && infoField(await persistence(), 'aof_enabled') !== '1')
    throw new StackctlError(
      'E_USAGE',
      'Redis runs without an AOF (appendonly no): there is none to back up',
      {
        hint: 'back it up as --type rdb',
      },
    );
  await redisCli(container, [type === 'rdb' ? 'BGSAVE' : 'BGREWRITEAOF'], password, ctx);
  for (;;) {
    const info = await persistence();
    const count = Number(infoField(info, counter) ?? 'NaN');
    if (infoField(info, inProgress) === '0' && (Number.isNaN(before) || count > before)) {
      if (infoField(info, status) !== 'ok')
        throw new StackctlError(
          'E_RUNTIME',
          `Redis could not write its ${type.toUpperCase()} (${status}: ${infoField(info, status)})`,
          {
            hint: 'see stackctl logs ENV redis: a full disk or a permission problem in its data folder',
          },
        );
      break;
    }
    await sleep(100, undefined, { signal: ctx.signal });
  }
  const dir = await redisConfig(container, 'dir', password, ctx);
  if (type === 'rdb') {
    const file = await redisConfig(container, 'dbfilename', password, ctx);
    return dockerStream(['exec', container, 'cat', `${dir}/${file}`], ctx, 'reading the RDB');
  }
  const aofDir = (await redisConfig(container, 'appenddirname', password, ctx)) || 'appendonlydir';
  return dockerStream(['cp', `${container}:${dir}/${aofDir}`, '-'], ctx, 'copying the AOF');
}

/** Where Redis keeps its files, asked while it runs (for a restore after it stops). */
export async function redisFiles(
  container: string,
  password: string | undefined,
  ctx: ExecContext,
): Promise<{ dir: string; dbfilename: string; appenddirname: string; appendonly: boolean }> {
  return {
    dir: await redisConfig(container, 'dir', password, ctx),
    dbfilename: await redisConfig(container, 'dbfilename', password, ctx),
    appenddirname: (await redisConfig(container, 'appenddirname', password, ctx)) || 'appendonlydir',
    appendonly: (await redisConfig(container, 'appendonly', password, ctx)) === 'yes',
  };
}

/**
 * Turns a restored RDB into the AOF a Redis with appendonly yes loads at start (it would ignore
 * the RDB and start empty): a private redis-server of the same image, on a socket and no network,
 * loads the RDB, rewrites it as an AOF, and shuts down; the files get the data folder's owner.
 */
export const RDB_TO_AOF_SCRIPT = [
  'set -e',
  'sock=/tmp/stackctl-restore.sock',
  'redis-server --port 0 --unixsocket "$sock" --dir "$1" --dbfilename "$2" --appenddirname "$3" --appendonly no --save "" --daemonize yes >/dev/null',
  'i=0; until redis-cli -s "$sock" ping >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.1; done',
  'redis-cli -s "$sock" config set appendonly yes >/dev/null',
  'i=0; until ls "$1/$3"/*.manifest >/dev/null 2>&1 && redis-cli -s "$sock" info persistence | grep -q "^aof_rewrite_in_progress:0" && redis-cli -s "$sock" info persistence | grep -q "^aof_rewrite_scheduled:0"; do i=$((i+1)); [ $i -lt 6000 ] || exit 1; sleep 0.1; done',
  'redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1 || true',
  'i=0; while redis-cli -s "$sock" ping >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.1; done',
  'chown -R "$4" "$1"',
].join('\n');

/** A folder of a container (running or stopped) as a tar stream: `docker cp CONTAINER:PATH -`. */
export function copyOut(container: string, path: string, ctx: ExecContext): StreamedCommand {
  return dockerStream(['cp', `${container}:${path}`, '-'], ctx, `copying ${path}`);
}

/** A tar stream extracted into a folder of a (stopped) container: `docker cp - CONTAINER:PATH`. */
export async function copyIn(
  container: string,
  parent: string,
  tar: Readable,
  ctx: ExecContext,
): Promise<void> {
  const result = await docker(['cp', '-', `${container}:${parent}`], ctx, {}, tar);
  if (result.exitCode !== 0)
    throw new StackctlError('E_RUNTIME', `copying into ${parent} failed: ${lastLine(String(result.stderr))}`);
}

export interface HelperLabels {
  readonly project: string;
  readonly environment: string;
  readonly composeProject: string;
}

/**
 * Runs a shell script in a one-off container of the service's own image with the service's
 * volumes (`--volumes-from`), as root, labelled as stackctl's: for what `docker cp` cannot do
 * (emptying a folder before a restore). Returns its output.
 */
export async function runHelper(
  container: string,
  image: string,
  script: string,
  args: readonly string[],
  labels: HelperLabels,
  ctx: ExecContext,
): Promise<string> {
  const run = () =>
    docker(
      [
        'run',
        '--rm',
        '--label',
        `${LABELS.project}=${labels.project}`,
        '--label',
        `${LABELS.environment}=${labels.environment}`,
        '--label',
        `${LABELS.stack}=restore`,
        '--network',
        'none',
        '--user',
        '0',
        '--volumes-from',
        container,
        '--entrypoint',
        'sh',
        image,
        '-c',
        markedScript(script),
        'stackctl-restore',
        ...args,
      ],
      ctx,
    );
  const { result, output } = await wholeOutput(run, `a helper on ${container.slice(0, 12)}`);
  if (result.exitCode !== 0)
    throw new StackctlError(
      'E_RUNTIME',
      `preparing the restore failed: ${lastLine(String(result.stderr)) || `exit ${String(result.exitCode)}`}`,
      {
        hint: `it runs a one-off container of the service's image (${image.slice(0, 19)}), which needs sh, rm and find`,
      },
    );
  return output.trim();
}

/** Stops containers (compose's stop timeout applies) and says when they are down. */
export async function stopContainers(ids: readonly string[], ctx: ExecContext): Promise<void> {
  if (ids.length === 0) return;
  const result = await docker(['stop', ...ids], ctx);
  if (result.exitCode !== 0)
    throw new StackctlError(
      'E_RUNTIME',
      `could not stop ${ids.join(', ')}: ${lastLine(String(result.stderr))}`,
    );
}

export async function startContainers(ids: readonly string[], ctx: ExecContext): Promise<void> {
  if (ids.length === 0) return;
  const result = await docker(['start', ...ids], ctx);
  if (result.exitCode !== 0)
    throw new StackctlError(
      'E_RUNTIME',
      `could not start ${ids.join(', ')}: ${lastLine(String(result.stderr))}`,
    );
}

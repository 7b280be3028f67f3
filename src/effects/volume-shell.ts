// A shell on a named volume: one helper container (the service's own image, as root, on no
// network, labelled as stackctl's) that commands are run in with `docker exec`, for writing into a
// volume a stack uses without a running service. A helper a killed run left behind is removed by
// the next one with the same labels.
import { execa, type ResultPromise } from 'execa';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { StackctlError } from '../errors.js';
import { dockerCliEnvironment, dockerClient } from './docker.js';

/** Where the volume is mounted in the helper. */
export const VOLUME_MOUNT = '/stackctl-volume';

export interface ShellResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface VolumeShell {
  /** Runs `script` (sh -c) with `args` as $1...; `feed` writes its stdin and returns when done. */
  run(
    script: string,
    args: readonly string[],
    feed?: (write: (chunk: Buffer) => Promise<void>) => Promise<void>,
  ): Promise<ShellResult>;
  close(): Promise<void>;
}

export interface VolumeShellIo {
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
}

/**
 * Opens a shell on `volume` (created with `labels` when it does not exist yet, as compose would
 * label it, so compose adopts it at the next start).
 */
export async function openVolumeShell(
  volume: string,
  image: string,
  labels: {
    readonly volume: Readonly<Record<string, string>>;
    readonly helper: Readonly<Record<string, string>>;
  },
  io: VolumeShellIo,
): Promise<VolumeShell> {
  const docker = dockerClient(io.env);
  const existing = await docker
    .getVolume(volume)
    .inspect()
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode === 404) return undefined;
      throw error;
    });
  if (!existing) await docker.createVolume({ Name: volume, Labels: { ...labels.volume } });
  const filters = Object.entries(labels.helper).map(([key, value]) => `${key}=${value}`);
  const helpers = await docker.listContainers({ all: true, filters: { label: filters } });
  // A helper is left behind only by a run that died (kill -9): one whose process still lives on
  // this host is another command's, working now.
  const stale = helpers.filter((container) => !isAlive(container.Labels?.[OWNER_LABEL]));
  await Promise.all(stale.map((container) => docker.getContainer(container.Id).remove({ force: true })));
  const owner = { [OWNER_LABEL]: `${hostname()}:${process.pid}` };

  const env = dockerCliEnvironment(io.env);
  const started = await execa(
    'docker',
    [
      'run',
      '-d',
      '--rm',
      '--network',
      'none',
      '--user',
      '0',
      ...Object.entries({ ...labels.helper, ...owner }).flatMap(([key, value]) => [
        '--label',
        `${key}=${value}`,
      ]),
      '-v',
      `${volume}:${VOLUME_MOUNT}`,
      '--entrypoint',
      'sh',
      image,
      '-c',
      'trap "exit 0" TERM INT; while :; do sleep 1; done',
    ],
    { env, reject: false, stdin: 'ignore' },
  );
  if (started.exitCode !== 0)
    throw new StackctlError(
      'E_RUNTIME',
      `cannot start a helper on volume ${volume}: ${lastLine(started.stderr)}`,
      {
        hint: `the helper runs the service's image (${image}): it must be on the engine (docker pull ${image})`,
      },
    );
  const id = started.stdout.trim();
  let closed = false;

  return {
    async run(script, args, feed) {
      const child: ResultPromise = execa(
        'docker',
        ['exec', '-i', id, 'sh', '-c', script, 'stackctl', ...args],
        {
          env,
          reject: false,
          stdin: feed ? 'pipe' : 'ignore',
          cancelSignal: io.signal,
        },
      );
      if (feed && child.stdin) {
        const stdin = child.stdin;
        stdin.on('error', () => undefined);
        const write = async (chunk: Buffer): Promise<void> => {
          if (!stdin.write(chunk)) await once(stdin, 'drain', { signal: io.signal });
        };
        try {
          await feed(write);
        } finally {
          stdin.end();
        }
      }
      const result = await child;
      if (io.signal.aborted)
        throw io.signal.reason instanceof Error ? io.signal.reason : new Error('interrupted');
      return {
        exitCode: result.exitCode ?? 1,
        stdout: typeof result.stdout === 'string' ? result.stdout : '',
        stderr: typeof result.stderr === 'string' ? result.stderr : '',
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await execa('docker', ['rm', '-f', id], { env, reject: false, stdin: 'ignore' });
    },
  };
}

export async function volumeExists(volume: string, io: Pick<VolumeShellIo, 'env'>): Promise<boolean> {
  const found = await dockerClient(io.env)
    .getVolume(volume)
    .inspect()
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode === 404) return undefined;
      throw error;
    });
  return found !== undefined;
}

/** Which process on which host runs a helper. */
const OWNER_LABEL = 'io.stackctl.helper-owner';

/** True when `owner` (host:pid) is a process alive on this host; another host's helper is left alone. */
function isAlive(owner: string | undefined): boolean {
  const match = /^(.*):(\d+)$/.exec(owner ?? '');
  if (!match) return false;
  if (match[1] !== hostname()) return true;
  try {
    process.kill(Number(match[2]), 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lastLine(text: unknown): string {
  return (typeof text === 'string' ? text : '').trim().split('\n').filter(Boolean).at(-1) ?? '';
}

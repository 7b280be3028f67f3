import type Docker from 'dockerode';

/** Runs a container's healthcheck command directly (docker exec) and says whether it passed. */
export async function execProbe(
  docker: Docker,
  containerId: string,
  command: readonly string[],
  timeoutMs: number,
): Promise<boolean> {
  try {
    const exec = await docker
      .getContainer(containerId)
      .exec({ Cmd: [...command], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stream.destroy();
        resolve();
      }, timeoutMs);
      stream.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.on('error', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.resume();
    });
    const info = await exec.inspect();
    return info.Running === false && info.ExitCode === 0;
  } catch {
    return false;
  }
}

/**
 * Runs a healthcheck command inside the container every `everyMs` for up to `forMs`, in one exec
 * (a shell loop): true as soon as a run passes, false when none did. One exec per window instead of
 * one per run, so a check every 100 ms stays cheap; the loop ends by itself, so nothing is left
 * running in the container for more than one window after stackctl goes. Images without /bin/sh
 * get single direct runs instead.
 */
export async function execProbeLoop(
  docker: Docker,
  containerId: string,
  command: readonly string[],
  options: { everyMs: number; forMs: number; timeoutMs: number },
): Promise<boolean> {
  const runs = Math.max(1, Math.ceil(options.forMs / options.everyMs));
  const every = (options.everyMs / 1000).toFixed(2);
  const loop = [
    '/bin/sh',
    '-c',
    'n=$1; every=$2; shift 2; i=0; while :; do "$@" >/dev/null 2>&1 && exit 0; i=$((i+1)); [ "$i" -ge "$n" ] && exit 1; sleep "$every" 2>/dev/null || sleep 1; done',
    'stackctl-probe',
    String(runs),
    every,
    ...command,
  ];
  try {
    const exec = await docker
      .getContainer(containerId)
      .exec({ Cmd: loop, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          stream.destroy();
          resolve();
        },
        options.forMs + options.timeoutMs + 1000,
      );
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
      stream.resume();
    });
    const info = await exec.inspect();
    if (info.Running === false && info.ExitCode === 0) return true;
    // 126/127: no shell to run the loop in; run the check itself.
    if (info.ExitCode === 126 || info.ExitCode === 127)
      return execProbe(docker, containerId, command, options.timeoutMs);
    return false;
  } catch {
    return execProbe(docker, containerId, command, options.timeoutMs);
  }
}

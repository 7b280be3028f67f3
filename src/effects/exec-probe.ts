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

// A host process's /proc/<pid>/cgroup, which names the container it runs in. Undefined when the
// process is gone or not visible from here (stackctl itself in a container sees only its own).
import { readFile } from 'node:fs/promises';

export async function readProcessCgroup(pid: number): Promise<string | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return readFile(`/proc/${String(pid)}/cgroup`, 'utf8').catch(() => undefined);
}

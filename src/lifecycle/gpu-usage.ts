// GPU memory per container: nvidia-smi's default table lists each process holding GPU memory; the
// process's /proc/<pid>/cgroup names its container. One nvidia-smi call; top and status -r use it.
import { readProcessCgroup } from '../effects/process-cgroup.js';
import { containerIdOfCgroup } from '../host/cgroup.js';
import { parseSmiProcesses } from '../host/nvidia-smi/usage.js';

/** MiB of GPU memory held per container ID, from nvidia-smi's default table. */
export async function gpuMemoryByContainer(table: string): Promise<Map<string, number>> {
  const byContainer = new Map<string, number>();
  for (const process of parseSmiProcesses(table)) {
    if (process.memoryMiB === null) continue;
    const id = containerIdOfCgroup((await readProcessCgroup(process.pid)) ?? '');
    if (id !== undefined) byContainer.set(id, (byContainer.get(id) ?? 0) + process.memoryMiB);
  }
  return byContainer;
}

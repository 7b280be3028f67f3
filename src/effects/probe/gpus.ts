// The host's GPUs through nvidia-smi, apart from the other host probes: a run that only needs its
// GPUs (generate, export) loads no Docker client for them.
import { isStackctlError } from '../../errors.js';
import type { GpuFacts } from '../../host/facts.js';
import { detectGpus } from '../../host/gpus.js';
import { classifyNvidiaSmiFailure } from '../../host/nvidia-smi/failure.js';
import { parseQueryCsv } from '../../host/nvidia-smi/query.js';
import type { NvidiaSmiRunner } from '../nvidia-smi.js';

/** The host's GPUs and their free memory, through nvidia-smi; a failure is a fact, not an error. */
export async function probeGpus(run: NvidiaSmiRunner): Promise<GpuFacts> {
  try {
    const detection = await detectGpus(run);
    const freeMiB = new Map<number, number>();
    if (detection.gpus.length > 0) {
      const free = await run(['--query-gpu=index,memory.free', '--format=csv,noheader,nounits']);
      if (free.found && free.exitCode === 0) {
        try {
          for (const row of parseQueryCsv(free.output, ['index', 'memory.free'])) {
            const value = Number(row['memory.free']);
            if (row['memory.free'] != null && Number.isFinite(value))
              freeMiB.set(Number(row['index']), value);
          }
        } catch {
          // Free memory is a refinement; without it the memory check is skipped.
        }
      }
    }
    return { ok: true, detection, freeMiB };
  } catch (error) {
    if (isStackctlError(error)) {
      const failure = classifyNvidiaSmiFailure(error.message.replace(/^nvidia-smi failed: /, ''));
      return { ok: false, message: failure.message, fix: error.hint ?? failure.fix };
    }
    throw error;
  }
}

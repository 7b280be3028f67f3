// The GPU layout of a run that does not check the host (--skip-preflight, export, a caller that
// checked already): the GPUs asked only when the decision needs them.
import { nvidiaSmiRunner } from '../effects/nvidia-smi.js';
import { probeGpus } from '../effects/probe/gpus.js';
import { decideGpu, needsGpuDetection, type GpuDecision } from '../plan/gpu-choice.js';
import type { ResolvedRun } from './run.js';

/** Why the GPUs of the host were not asked for an environment's own profile. */
export const NOT_REQUIRED = 'the environment does not require GPUs (gpu.required: false)';

/** The layout for a run without preflight: nvidia-smi is asked only when the decision depends on it. */
export async function chooseRunGpu(
  run: ResolvedRun,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal?: AbortSignal },
): Promise<GpuDecision> {
  const input = run.gpuInput;
  if (!needsGpuDetection(input, run.gpuRequired))
    return decideGpu({ ...input, detection: { ok: false, why: NOT_REQUIRED } });
  const gpus = await probeGpus(nvidiaSmiRunner({ env: io.env, ...(io.signal ? { signal: io.signal } : {}) }));
  return decideGpu({
    ...input,
    detection: gpus.ok ? { ok: true, facts: gpus.detection } : { ok: false, why: gpus.message },
  });
}

/** The layout generate uses without --gpu: the recorded one, else the environment's profile (the host is not asked). */
export function generatedGpu(run: ResolvedRun): GpuDecision {
  return decideGpu({
    ...run.gpuInput,
    detection: { ok: false, why: 'generate asks the host only with --gpu' },
  });
}

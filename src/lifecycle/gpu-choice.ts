// The GPU layout of a run that does not check the host (--skip-preflight, export, a caller that
// checked already): the recorded choice read, the GPUs asked when the decision needs them.
import { StackctlError } from '../errors.js';
import { nvidiaSmiRunner } from '../effects/nvidia-smi.js';
import { probeGpus } from '../effects/probe/index.js';
import type { LoadedStack } from '../model/stack.js';
import { readGpuChoice } from '../effects/state.js';
import { decideGpu, needsGpuDetection, type GpuChoiceInput, type GpuDecision } from '../plan/gpu-choice.js';
import type { GpuMode } from '../plan/gpu-layout.js';

/** What the decision needs before the host is asked: --gpu, the recorded choice, the environment's profile. */
export async function gpuChoiceInput(
  stack: LoadedStack,
  envName: string,
  flag: GpuMode | undefined,
): Promise<{ input: Omit<GpuChoiceInput, 'detection'>; required: boolean }> {
  const env = stack.file.environments[envName];
  if (!env) throw new Error(`no environment ${envName}`);
  if (flag !== undefined && flag !== 'auto' && !Object.hasOwn(stack.file.gpuProfiles, flag))
    throw new StackctlError('E_USAGE', `the schema has no GPU profile "${flag}"`, {
      hint: `profiles: ${Object.keys(stack.file.gpuProfiles).join(', ')}`,
    });
  const recorded = await readGpuChoice(stack.root, envName);
  return {
    input: {
      ...(flag !== undefined ? { flag } : {}),
      ...(recorded ? { recorded: { profile: recorded.profile, variables: recorded.variables } } : {}),
      profile: env.gpu.profile,
      ...(env.gpu.fallback !== undefined ? { fallback: env.gpu.fallback } : {}),
    },
    required: env.gpu.required,
  };
}

/** Why the GPUs of the host were not asked for an environment's own profile. */
export const NOT_REQUIRED = 'the environment does not require GPUs (gpu.required: false)';

/** The layout for a run without preflight: nvidia-smi is asked only when the decision depends on it. */
export async function chooseRunGpu(
  stack: LoadedStack,
  envName: string,
  flag: GpuMode | undefined,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal?: AbortSignal },
): Promise<GpuDecision> {
  const { input, required } = await gpuChoiceInput(stack, envName, flag);
  if (!needsGpuDetection(input, required))
    return decideGpu({ ...input, detection: { ok: false, why: NOT_REQUIRED } });
  const gpus = await probeGpus(nvidiaSmiRunner({ env: io.env, ...(io.signal ? { signal: io.signal } : {}) }));
  return decideGpu({
    ...input,
    detection: gpus.ok ? { ok: true, facts: gpus.detection } : { ok: false, why: gpus.message },
  });
}

/** The layout generate uses without --gpu: the recorded one, else the environment's profile (the host is not asked). */
export async function generatedGpu(stack: LoadedStack, envName: string): Promise<GpuDecision> {
  const { input } = await gpuChoiceInput(stack, envName, undefined);
  return decideGpu({ ...input, detection: { ok: false, why: 'generate asks the host only with --gpu' } });
}

import { gatherHostFacts } from '../effects/probe/index.js';
import { readSecretStore } from '../effects/secret-store.js';
import type { LoadedStack } from '../effects/schema-file.js';
import { gpuChoiceInput, NOT_REQUIRED } from '../lifecycle/gpu-choice.js';
import { resolveEnvironment } from '../model/environment.js';
import { decideGpu, needsGpuDetection, type GpuDecision } from '../plan/gpu-choice.js';
import type { GpuMode } from '../plan/gpu-layout.js';
import { startProgress } from '../ui/progress.js';
import type { UiContext } from '../ui/terminal.js';
import { preflightChecks, type Check } from './checks.js';
import { secretStrengthChecks } from './secret-strength.js';

export interface HostAssessment {
  readonly checks: readonly Check[];
  /** The GPU layout for this run, decided from the host's GPUs when they were needed. */
  readonly gpu: GpuDecision;
}

/** Probes the host and runs every check for an environment (preflight, and start before it starts). */
export async function assessHost(
  stack: LoadedStack,
  envName: string,
  gpuFlag: GpuMode | undefined,
  ctx: UiContext,
  options: { generatesFiles?: boolean; skipChecks?: readonly string[] } = {},
): Promise<HostAssessment> {
  const { input, required } = await gpuChoiceInput(stack, envName, gpuFlag);
  const needGpu = needsGpuDetection(input, required);

  const progress = startProgress(ctx, `Checking the host for ${envName}`);
  const draft = resolveEnvironment(
    stack.file,
    envName,
    decideGpu({ ...input, detection: NOT_ASKED }).selection,
  );
  const facts = await gatherHostFacts(draft, {
    env: ctx.env,
    root: stack.root,
    needGpu,
    signal: ctx.signal,
  }).finally(() => progress.stop());

  const gpu = decideGpu({
    ...input,
    detection:
      facts.gpus?.ok === true
        ? { ok: true, facts: facts.gpus.detection }
        : needGpu
          ? { ok: false, why: facts.gpus?.ok === false ? facts.gpus.message : 'nvidia-smi was not asked' }
          : NOT_ASKED,
  });
  const model = resolveEnvironment(stack.file, envName, gpu.selection);
  const checks = preflightChecks({
    model,
    facts,
    gpuMode: needGpu ? gpu.mode : 'cpu',
    layout: gpu.layout,
    generatesFiles: options.generatesFiles === true,
  });
  const store = await readSecretStore(stack.root, envName);
  if (store) checks.push(...secretStrengthChecks(stack.file, envName, store));
  return { checks, gpu };
}

const NOT_ASKED = { ok: false, why: NOT_REQUIRED } as const;

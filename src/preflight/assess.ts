import { readGpuChoice } from '../effects/state.js';
import { gatherHostFacts } from '../effects/probe/index.js';
import { readSecretStore } from '../effects/secret-store.js';
import type { LoadedStack } from '../effects/schema-file.js';
import { resolveEnvironment, type GpuSelection } from '../model/environment.js';
import {
  chooseGpuLayout,
  chooseWithFallback,
  GPU_MODES,
  type GpuMode,
  type LayoutChoice,
} from '../plan/gpu-layout.js';
import type { EnvironmentDef } from '../schema/types.js';
import { startProgress } from '../ui/progress.js';
import type { UiContext } from '../ui/terminal.js';
import { preflightChecks, type Check } from './checks.js';
import { secretStrengthChecks } from './secret-strength.js';

export interface HostAssessment {
  readonly checks: readonly Check[];
  /** The GPU layout for this run: the host's, when GPUs were needed and found; else the recorded one. */
  readonly gpu: GpuSelection | undefined;
}

/** Probes the host and runs every check for an environment (preflight, and start before it starts). */
export async function assessHost(
  stack: LoadedStack,
  envName: string,
  gpuFlag: GpuMode | undefined,
  ctx: UiContext,
  options: { generatesFiles?: boolean } = {},
): Promise<HostAssessment> {
  const env = environmentDef(stack, envName);
  const recorded = await readGpuChoice(stack.root, envName);
  const mode: GpuMode = gpuFlag ?? asMode(recorded?.profile) ?? asMode(env.gpu.profile) ?? 'auto';
  const needGpu = mode !== 'cpu' && (env.gpu.required || gpuFlag !== undefined);

  const progress = startProgress(ctx, `Checking the host for ${envName}`);
  const draft = resolveEnvironment(stack.file, envName, selection(recorded, env.gpu.profile));
  const facts = await gatherHostFacts(draft, {
    env: ctx.env,
    root: stack.root,
    needGpu,
    signal: ctx.signal,
  }).finally(() => progress.stop());

  let layout: LayoutChoice | undefined;
  if (needGpu && facts.gpus?.ok === true) {
    // The environment's own profile may fall back (gpu.fallback); --gpu and a recorded choice may not.
    const ownProfile = gpuFlag === undefined && recorded === undefined;
    layout = ownProfile
      ? chooseWithFallback(facts.gpus.detection, mode, asMode(env.gpu.fallback))
      : chooseGpuLayout(facts.gpus.detection, mode);
  }
  const gpu: GpuSelection | undefined =
    layout?.ok === true
      ? { profile: layout.layout.profile, variables: layout.layout.variables }
      : mode === 'cpu' && gpuFlag !== undefined
        ? { profile: 'cpu', variables: {} }
        : recorded
          ? { profile: recorded.profile, variables: recorded.variables }
          : undefined;
  const model = gpu ? resolveEnvironment(stack.file, envName, gpu) : draft;
  const checks = preflightChecks({
    model,
    facts,
    gpuMode: needGpu ? mode : 'cpu',
    layout,
    generatesFiles: options.generatesFiles === true,
  });
  const store = await readSecretStore(stack.root, envName);
  if (store) checks.push(...secretStrengthChecks(stack.file, envName, store));
  return { checks, gpu };
}

function asMode(profile: string | undefined): GpuMode | undefined {
  return GPU_MODES.find((mode) => mode === profile);
}

function selection(
  recorded: { profile: string; variables: Record<string, string> } | undefined,
  profile: string,
): GpuSelection {
  return recorded ? { profile: recorded.profile, variables: recorded.variables } : { profile, variables: {} };
}

function environmentDef(stack: LoadedStack, envName: string): EnvironmentDef {
  const env = stack.file.environments[envName];
  if (!env) throw new Error(`no environment ${envName}`);
  return env;
}

// A run resolved once (vite's resolved config is the model): what a command working on one
// environment reads of the project's state (its secret store, its recorded GPU choice), what the
// GPU decision needs before the host is asked, and the environment model, resolved once per GPU
// layout. Start, the cluster path, preflight, restart and generate take this object; nothing below
// them reads that state again or resolves the environment by its name.
import { StackctlError } from '../errors.js';
import { readSecretStore } from '../effects/secret-store.js';
import { readGpuChoice, type GpuChoice } from '../effects/state.js';
import type { SecretStore } from '../generate/secrets.js';
import { resolveEnvironment, type EnvironmentModel, type GpuSelection } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import { decideGpu, type GpuChoiceInput, type GpuDecision } from '../plan/gpu-choice.js';
import type { GpuMode } from '../plan/gpu-layout.js';
import type { EnvironmentDef, StackFile } from '../schema/types.js';

export interface ResolvedRun {
  readonly stack: LoadedStack;
  readonly envName: string;
  readonly definition: EnvironmentDef;
  /** The environment's secret store as the run began (undefined before its first generate). */
  readonly store: SecretStore | undefined;
  /** What the GPU decision needs before the host is asked: --gpu, the recorded choice, the profile. */
  readonly gpuInput: Omit<GpuChoiceInput, 'detection'>;
  /** The environment requires GPUs (gpu.required). */
  readonly gpuRequired: boolean;
  /** The decision as it stands without asking the host (exact for --gpu cpu and a recorded choice). */
  readonly likelyGpu: GpuDecision;
  /** The environment model for a GPU layout, resolved once per layout. */
  model(selection: GpuSelection | undefined): EnvironmentModel;
}

/** Reads the environment's state once and resolves what every step of the run shares. */
export async function resolveRun(
  stack: LoadedStack,
  request: { readonly envName: string; readonly gpu?: GpuMode | undefined },
): Promise<ResolvedRun> {
  const { envName } = request;
  const definition = stack.file.environments[envName];
  if (!definition) throw new Error(`no environment ${envName}`);
  const [store, recorded] = await Promise.all([
    readSecretStore(stack.root, envName),
    readGpuChoice(stack.root, envName),
  ]);
  const gpuInput = gpuInputOf(stack.file, definition, request.gpu, recorded);
  const models = new Map<string, EnvironmentModel>();
  return {
    stack,
    envName,
    definition,
    store,
    gpuInput,
    gpuRequired: definition.gpu.required,
    likelyGpu: decideGpu({ ...gpuInput, detection: { ok: false, why: 'not asked yet' } }),
    model(selection) {
      const key =
        selection === undefined
          ? ''
          : JSON.stringify([selection.profile, Object.entries(selection.variables).sort()]);
      let model = models.get(key);
      if (!model) {
        model = resolveEnvironment(stack.file, envName, selection);
        models.set(key, model);
      }
      return model;
    },
  };
}

/** --gpu (a profile the schema has, or auto), the recorded choice, the environment's profile. */
function gpuInputOf(
  file: StackFile,
  definition: EnvironmentDef,
  flag: GpuMode | undefined,
  recorded: GpuChoice | undefined,
): Omit<GpuChoiceInput, 'detection'> {
  if (flag !== undefined && flag !== 'auto' && !Object.hasOwn(file.gpuProfiles, flag))
    throw new StackctlError('E_USAGE', `the schema has no GPU profile "${flag}"`, {
      hint: `profiles: ${Object.keys(file.gpuProfiles).join(', ')}`,
    });
  return {
    ...(flag !== undefined ? { flag } : {}),
    ...(recorded ? { recorded: { profile: recorded.profile, variables: recorded.variables } } : {}),
    profile: definition.gpu.profile,
    ...(definition.gpu.fallback !== undefined ? { fallback: definition.gpu.fallback } : {}),
  };
}

import { randomFillSync } from 'node:crypto';
import { join, relative } from 'node:path';
import { applyFiles, type FileResult } from '../effects/apply-files.js';
import { exists } from '../effects/files.js';
import { readSecretStore } from '../effects/secret-store.js';
import { readGpuChoice, recordValidSchema } from '../effects/state.js';
import { readTemplates } from '../effects/templates.js';
import { COMPOSE_DIR, LOCAL_OVERRIDE } from '../generate/compose-files.js';
import { planGeneration, type GenerationPlan } from '../generate/plan.js';
import { ensureSecrets, type RandomBytes, type SecretStore } from '../generate/secrets.js';
import type { GpuSelection } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import { refreshStateMetrics } from './state-metrics.js';

export const cryptoRandom: RandomBytes = (size) => randomFillSync(new Uint8Array(size));

export interface PreparedGeneration {
  readonly plan: GenerationPlan;
  /** Secrets created in this run, per environment (names only). */
  readonly createdSecrets: ReadonlyMap<string, readonly string[]>;
  readonly stores: ReadonlyMap<string, SecretStore>;
  /** The GPU layout each environment was generated with (override or recorded), when there is one. */
  readonly gpuSelection: ReadonlyMap<string, GpuSelection>;
}

/**
 * Reads what generation depends on (secret stores, recorded GPU layouts, templates, the local
 * override) and plans the files. With createSecrets false (--check), missing secrets stay missing.
 */
export async function prepareGeneration(
  stack: LoadedStack,
  environments: readonly string[],
  options: {
    createSecrets: boolean;
    replaceStores?: ReadonlyMap<string, SecretStore>;
    now?: Date;
    /** A GPU layout chosen for this run (start --gpu), over the recorded one. */
    gpuOverride?: ReadonlyMap<string, GpuSelection>;
  },
): Promise<PreparedGeneration> {
  const now = options.now ?? new Date();
  const stores = new Map<string, SecretStore>();
  const created = new Map<string, readonly string[]>();
  const gpu = new Map<string, GpuSelection>();
  for (const env of environments) {
    const existing = options.replaceStores?.get(env) ?? (await readSecretStore(stack.root, env));
    if (options.createSecrets) {
      const result = ensureSecrets(stack.file, env, existing, cryptoRandom, now);
      stores.set(env, result.store);
      created.set(env, result.created);
    } else if (existing) {
      stores.set(env, existing);
    }
    const override = options.gpuOverride?.get(env);
    const choice = override ?? (await readGpuChoice(stack.root, env));
    if (choice) gpu.set(env, { profile: choice.profile, variables: choice.variables });
  }
  const templates = await readTemplates(stack.root);
  const plan = planGeneration({
    file: stack.file,
    schemaText: stack.schemaText,
    schemaPath: relative(stack.root, stack.schemaPath).split('\\').join('/'),
    environments,
    secrets: stores,
    gpu,
    templates: templates.sources,
    localOverride: await exists(join(stack.root, COMPOSE_DIR, LOCAL_OVERRIDE)),
    shareableOnlyWithoutSecrets: !options.createSecrets,
  });
  return { plan, createdSecrets: created, stores, gpuSelection: gpu };
}

export type { FileResult } from '../effects/apply-files.js';

export interface GenerateRequest {
  readonly environments: readonly string[];
  /** Compare with what is on disk; write nothing, create no secret. */
  readonly check: boolean;
  /** Each environment's GPU layout (the decision, made by the caller). */
  readonly gpu: ReadonlyMap<string, GpuSelection>;
}

/**
 * Writes (or, with check, compares) every generated file of the environments, creating their
 * missing secrets, and records the schema they were made from: status, stop and logs fall back
 * to it while the schema is being edited.
 */
export async function generateEnvironments(
  stack: LoadedStack,
  request: GenerateRequest,
  io: { readonly cwd: string; readonly signal: AbortSignal },
): Promise<{ prepared: PreparedGeneration; results: FileResult[] }> {
  const prepared = await prepareGeneration(stack, request.environments, {
    createSecrets: !request.check,
    gpuOverride: request.gpu,
  });
  const results = await applyFiles(stack.root, io.cwd, prepared.plan.files, {
    check: request.check,
    signal: io.signal,
  });
  if (!request.check) {
    await recordValidSchema(stack.root, stack.schemaText, stack.file);
    for (const [environment, store] of prepared.stores) await refreshStateMetrics(stack, environment, store);
  }
  return { prepared, results };
}

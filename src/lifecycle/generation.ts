import { randomFillSync } from 'node:crypto';
import { join, relative } from 'node:path';
import { exists } from '../effects/files.js';
import { readSecretStore } from '../effects/secret-store.js';
import { readGpuChoice } from '../effects/state.js';
import { readTemplates } from '../effects/templates.js';
import { COMPOSE_DIR, LOCAL_OVERRIDE } from '../generate/compose-files.js';
import { planGeneration, type GenerationPlan } from '../generate/plan.js';
import { ensureSecrets, type RandomBytes, type SecretStore } from '../generate/secrets.js';
import type { GpuSelection } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';

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

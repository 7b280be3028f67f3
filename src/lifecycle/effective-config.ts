// What compose will really run: `docker compose config` over the files generation planned and the
// user's overlay. When the planned files are not on disk yet (a dry run, a preflight before the
// first start), compose reads them from a private copy and nothing is written in the project.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { applyFiles } from '../effects/apply-files.js';
import { withoutVariables } from '../effects/config-prefetch.js';
import { readComposeConfig } from '../effects/compose-runner.js';
import { findCompose, type ComposeFlavour } from '../effects/docker.js';
import type { LoadedStack } from '../model/stack.js';
import { redactor } from '../generate/redact.js';
import type { EnvironmentModel } from '../model/environment.js';
import { composeArgs } from '../plan/start.js';
import type { StackFile } from '../schema/types.js';
import { prepareGeneration, type PreparedGeneration } from './generation.js';

/**
 * The environment compose runs with: the user's, minus every variable the schema declares and the
 * COMPOSE_* settings, so the generated env file is the only source of values (a stray exported
 * POSTGRES_PORT in a shell must not silently win).
 */
export function composeEnvironment(env: NodeJS.ProcessEnv, file: StackFile): NodeJS.ProcessEnv {
  return withoutVariables(env, Object.keys(file.variables));
}

interface ReadIo {
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
}

/** Reads compose's configuration for `args`, from the planned files' private copy unless `onDisk`. */
export async function readConfigOverPlan(
  stack: LoadedStack,
  prepared: PreparedGeneration,
  args: readonly string[],
  onDisk: boolean,
  compose: ComposeFlavour,
  io: ReadIo,
): Promise<unknown> {
  const values = [...prepared.stores.values()].flatMap((store) =>
    Object.values(store.secrets).map((entry) => entry.value),
  );
  const read = (readArgs: readonly string[]): Promise<unknown> =>
    readComposeConfig(compose, readArgs, {
      env: composeEnvironment(io.env, stack.file),
      signal: io.signal,
      redact: redactor(values),
    });
  return overPlan(stack, prepared, args, onDisk, read);
}

/**
 * Runs `use` with compose arguments that name the planned files: as they are when `onDisk`, else
 * pointed at a private copy (removed afterwards). Relative paths in them resolve against the
 * project folder (--project-directory), so compose sees the same configuration either way.
 */
export async function overPlan<T>(
  stack: LoadedStack,
  prepared: PreparedGeneration,
  args: readonly string[],
  onDisk: boolean,
  use: (args: readonly string[]) => Promise<T>,
): Promise<T> {
  if (onDisk) return use(args);
  return withPlannedFiles(prepared, (scratch) =>
    use(args.map((arg) => relocate(arg, stack.root, scratch, prepared))),
  );
}

/**
 * The effective configuration of an environment as a start would run it now (for preflight): the
 * planned files, on disk when they are current. Undefined when no compose is installed.
 */
export async function plannedEffectiveConfig(
  stack: LoadedStack,
  prepared: PreparedGeneration,
  model: EnvironmentModel,
  io: ReadIo & { readonly cwd: string },
): Promise<unknown> {
  const compose = await findCompose(io.env);
  if (compose === null) return undefined;
  const envFiles = prepared.plan.environments.find((env) => env.name === model.name);
  if (!envFiles) return undefined;
  const checked = await applyFiles(stack.root, io.cwd, prepared.plan.files, {
    check: true,
    signal: io.signal,
  });
  const onDisk = checked.every((file) => file.status === 'unchanged');
  return readConfigOverPlan(stack, prepared, composeArgs(model, stack.root, envFiles), onDisk, compose, io);
}

/**
 * What preflight calls to judge the effective configuration: the files generation would write for
 * the model (secrets made in memory only), read by compose with the user's overlay.
 */
export function effectiveReader(
  stack: LoadedStack,
  io: ReadIo & { readonly cwd: string },
): (model: EnvironmentModel) => Promise<unknown> {
  return async (model) => {
    const prepared = await prepareGeneration(stack, [model.name], {
      createSecrets: true,
      gpuOverride: new Map([[model.name, model.gpu]]),
    });
    return plannedEffectiveConfig(stack, prepared, model, io);
  };
}

/** Runs `use` with the planned files written in a private folder (0700), removed afterwards. */
async function withPlannedFiles<T>(
  prepared: PreparedGeneration,
  use: (scratch: string) => Promise<T>,
): Promise<T> {
  const scratch = await mkdtemp(join(tmpdir(), 'stackctl-plan-'));
  try {
    for (const file of prepared.plan.files) {
      await mkdir(dirname(join(scratch, file.path)), { recursive: true, mode: 0o700 });
      await writeFile(join(scratch, file.path), file.content, { mode: 0o600 });
    }
    return await use(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A compose argument naming a planned file, pointed at its copy; anything else (the project folder, the user's overlay) as it is. */
function relocate(arg: string, root: string, scratch: string, prepared: PreparedGeneration): string {
  const planned = prepared.plan.files.some((file) => join(root, file.path) === arg);
  return planned ? join(scratch, relative(root, arg)) : arg;
}

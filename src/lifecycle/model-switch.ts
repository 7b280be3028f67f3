// `models switch` as a workflow: the new model checked against the GPUs, pulled into the cache
// volume, written into the schema's environment variables (never into generated files), and only
// vLLM and what depends on it started again and waited for. Anything failing after the schema
// changed puts the previous schema back and starts those services again on the old model.
import { readFile } from 'node:fs/promises';
import { acquireLock } from '../effects/lock.js';
import { writeFileAtomic } from '../effects/files.js';
import { StackctlError } from '../errors.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import type { FitResult } from '../plan/model-fit.js';
import { vllmSettingsOf } from '../plan/vllm-settings.js';
import { setEnvironmentVariables } from '../schema/edit.js';
import type { DependsOnDef } from '../schema/types.js';
import { validateStackText } from '../schema/validate.js';
import { cacheContextOf, type CacheContext } from './model-cache.js';
import { fillCache, hubModelId, recordPull, type ModelPullView } from './model-pull.js';
import { fitModel, hostGpus, type ModelsIo } from './models.js';
import { readStack } from './stack-loading.js';

export interface ModelSwitchRequest {
  readonly envName: string;
  readonly model: string;
  readonly maxModelLen: number | undefined;
}

/** What a person sees while the model changes; `restart` starts the services (the caller's start). */
export interface ModelSwitchView extends ModelPullView {
  fitChecked(result: FitResult | undefined, why: string | undefined): void;
  schemaChanged(path: string, variables: Readonly<Record<string, string | number>>): void;
  /** Starts these services of the environment from the stack file as it is now, waiting for them. */
  restart(stack: LoadedStack, services: readonly string[]): Promise<void>;
  rollingBack(reason: string): void;
}

export interface ModelSwitchOutcome {
  readonly from: string | undefined;
  readonly to: string;
  readonly restarted: readonly string[];
  readonly variables: Readonly<Record<string, string | number>>;
}

export async function switchModel(
  stack: LoadedStack,
  request: ModelSwitchRequest,
  io: ModelsIo,
  view: ModelSwitchView,
): Promise<ModelSwitchOutcome> {
  const { envName } = request;
  const context = await cacheContextOf(stack, envName, io);
  const vllm = context ? vllmSettingsOf(context.model) : undefined;
  if (!context || !vllm)
    throw new StackctlError('E_USAGE', `environment ${envName} runs no vLLM service`, {
      hint: 'switch the model of an environment that runs vLLM',
    });
  const modelVariable = vllm.flagVariables['model'];
  if (!modelVariable)
    throw new StackctlError('E_USAGE', `${vllm.service}'s --model is not a schema variable: nothing to set`, {
      hint: `write its command as --model \${VLLM_MODEL} and declare VLLM_MODEL`,
    });
  const variables: Record<string, string | number> = { [modelVariable]: request.model };
  if (request.maxModelLen !== undefined) {
    const lengthVariable = vllm.flagVariables['max-model-len'];
    if (!lengthVariable)
      throw new StackctlError('E_USAGE', `${vllm.service}'s --max-model-len is not a schema variable`, {
        hint: 'leave --max-model-len out, or feed the flag from a variable',
      });
    variables[lengthVariable] = request.maxModelLen;
  }

  await checkFit(context, stack.root, request, io, view);
  const lock = await acquireLock(stack.root, envName, `models switch ${envName}`);
  try {
    const id = hubModelId(request.model);
    if (id && context.mount) await recordPull(stack.root, envName, await fillCache(context, id, io, view));
    const previous = await readFile(stack.schemaPath, 'utf8');
    const next = setEnvironmentVariables(previous, envName, variables);
    const checked = await validateStackText(next, { fileName: stack.schemaPath });
    if (!checked.valid)
      throw new StackctlError(
        'E_SCHEMA',
        `the schema with ${request.model} set would not be valid: ${checked.issues[0]?.message ?? ''}`,
        {
          hint: 'set the variables by hand',
        },
      );
    const services = [vllm.service, ...dependentsOf(context.model, vllm.service)];
    await writeFileAtomic(stack.schemaPath, next);
    view.schemaChanged(stack.schemaPath, variables);
    try {
      await view.restart(await reload(stack, io), services);
    } catch (error) {
      if (io.signal.aborted) throw error;
      view.rollingBack((error as Error).message);
      await writeFileAtomic(stack.schemaPath, previous);
      await view.restart(await reload(stack, io), services);
      throw new StackctlError(
        'E_RUNTIME',
        `${request.model} did not come up; ${envName} is back on ${vllm.model ?? 'its previous model'}`,
        {
          hint: `what went wrong is above; try it alone: stackctl models fit ${request.model} --env ${envName}`,
        },
      );
    }
    return { from: vllm.model, to: request.model, restarted: services, variables };
  } finally {
    await lock.release();
  }
}

/** Refuses a model that will not start on this host's GPUs; a host without GPUs is not judged. */
async function checkFit(
  context: CacheContext,
  root: string,
  request: ModelSwitchRequest,
  io: ModelsIo,
  view: ModelSwitchView,
): Promise<void> {
  const gpus = await hostGpus(io).catch((error: Error) => error);
  if (gpus instanceof Error) {
    view.fitChecked(undefined, gpus.message);
    return;
  }
  const fit = await fitModel(
    {
      model: request.model,
      gpus: undefined,
      vramGiB: undefined,
      tensorParallel: undefined,
      maxModelLen: request.maxModelLen,
      gpuMemoryUtilization: undefined,
      kvCacheDtype: undefined,
    },
    { model: context.model, root, hfToken: context.hfToken },
    io,
  ).catch((error: Error) => error);
  if (fit instanceof Error) {
    view.fitChecked(undefined, fit.message);
    return;
  }
  view.fitChecked(fit.result, undefined);
  if (fit.result.verdict === 'will-not-start')
    throw new StackctlError(
      'E_PREFLIGHT',
      `${request.model} will not start on these GPUs: ${fit.result.reasons.join('; ')}`,
      {
        hint: `see the fix: stackctl models fit ${request.model} --env ${context.model.name}`,
      },
    );
}

async function reload(stack: LoadedStack, io: ModelsIo): Promise<LoadedStack> {
  const loaded = await readStack(stack.schemaPath, { cwd: io.cwd, env: io.env });
  if (!loaded.ok) throw new StackctlError('E_SCHEMA', `${stack.schemaPath} is not valid after the change`);
  return loaded.stack;
}

/**
 * The services of the environment that depend on `service` directly (LiteLLM on vLLM): they talk to
 * it, and their generated configuration may name its model. Services further down talk to those,
 * not to the model server, and keep running.
 */
export function dependentsOf(model: EnvironmentModel, service: string): string[] {
  const dependsOn = (deps: DependsOnDef | undefined): string[] =>
    deps === undefined ? [] : Array.isArray(deps) ? deps : Object.keys(deps);
  return model.services
    .filter(
      (candidate) =>
        candidate.name !== service && dependsOn(candidate.definition.depends_on).includes(service),
    )
    .map((candidate) => candidate.name);
}

// `models fit` as a workflow: the model's shape read (a folder, or the hub by range requests),
// the GPUs asked (nvidia-smi, or the size given), vLLM's settings taken from the environment's
// service (or the flags), and src/plan/model-fit.ts's estimate returned.
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { HubError, readHubModel, readModelFolder, type ModelFiles } from '../effects/model-source.js';
import { nvidiaSmiRunner } from '../effects/nvidia-smi.js';
import { StackctlError } from '../errors.js';
import { ModelFileError, parseModelConfig, type ModelShape } from '../host/hf-model.js';
import { classifyNvidiaSmiFailure } from '../host/nvidia-smi/failure.js';
import { parseP2pMatrix } from '../host/nvidia-smi/p2p.js';
import { parseSmiTable } from '../host/nvidia-smi/table.js';
import type { GpuLink } from '../host/nvidia-smi/topology.js';
import type { AllReduceFacts } from '../preflight/all-reduce-check.js';
import type { EnvironmentModel } from '../model/environment.js';
import {
  cudaVisibleBytes,
  planModelFit,
  type FitGpu,
  type FitResult,
  type FitSettings,
  type KvCacheDtype,
} from '../plan/model-fit.js';
import { VLLM_DEFAULTS, vllmSettingsOf, type VllmService } from '../plan/vllm-settings.js';
import type { VllmFitFact } from '../preflight/model-fit-check.js';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export interface ModelFitRequest {
  /** A folder, a hub id (org/name, optionally @revision), or undefined for the environment's model. */
  readonly model: string | undefined;
  readonly gpus: number | undefined;
  readonly vramGiB: number | undefined;
  readonly tensorParallel: number | undefined;
  readonly maxModelLen: number | undefined;
  readonly gpuMemoryUtilization: number | undefined;
  readonly kvCacheDtype: KvCacheDtype | undefined;
}

export interface ModelsIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly signal: AbortSignal;
}

/** Where the environment's settings come from, when an environment is named. */
export interface FitEnvironment {
  readonly model: EnvironmentModel;
  readonly root: string;
  /** The environment's stored Hugging Face token, if it has one. */
  readonly hfToken: string | undefined;
}

export interface ModelFitOutcome {
  readonly model: string;
  readonly files: ModelFiles;
  readonly shape: ModelShape;
  readonly settings: FitSettings;
  readonly vllm: VllmService | undefined;
  /** Where the GPUs came from: nvidia-smi, or the --vram given. */
  readonly gpuSource: 'nvidia-smi' | 'given';
  readonly result: FitResult;
}

/** Plans vLLM's memory for a model on this host's GPUs (or the ones described). */
export async function fitModel(
  request: ModelFitRequest,
  environment: FitEnvironment | undefined,
  io: ModelsIo,
): Promise<ModelFitOutcome> {
  const vllm = environment ? vllmSettingsOf(environment.model) : undefined;
  if (environment && !vllm)
    throw new StackctlError('E_USAGE', `environment ${environment.model.name} runs no vLLM service`, {
      hint: 'name a model: stackctl models fit MODEL --vram 24 --gpus 2',
    });
  const name = request.model ?? vllm?.model;
  if (name === undefined || name === '')
    throw new StackctlError(
      'E_USAGE',
      'which model? name one, or an environment whose vLLM service names one',
      {
        hint: 'stackctl models fit meta-llama/Llama-3.1-8B-Instruct, or: stackctl models fit --env production',
      },
    );
  const settings = settingsFor(request, vllm);
  const [files, gpus] = await Promise.all([
    readModel(name, environment, io),
    request.vramGiB !== undefined ? givenGpus(request, settings) : hostGpus(io),
  ]);
  const shape = parseShape(files);
  const selected =
    request.gpus !== undefined && request.vramGiB === undefined ? gpus.slice(0, request.gpus) : gpus;
  const result = planModelFit({ model: shape, weightsBytes: files.weights.bytes, gpus: selected, settings });
  return {
    model: name,
    files,
    shape,
    settings,
    vllm,
    gpuSource: request.vramGiB !== undefined ? 'given' : 'nvidia-smi',
    result,
  };
}

function settingsFor(request: ModelFitRequest, vllm: VllmService | undefined): FitSettings {
  const base = vllm?.settings ?? VLLM_DEFAULTS;
  return {
    ...base,
    ...(request.tensorParallel !== undefined ? { tensorParallel: request.tensorParallel } : {}),
    ...(request.maxModelLen !== undefined ? { maxModelLen: request.maxModelLen } : {}),
    ...(request.gpuMemoryUtilization !== undefined
      ? { gpuMemoryUtilization: request.gpuMemoryUtilization }
      : {}),
    ...(request.kvCacheDtype !== undefined ? { kvCacheDtype: request.kvCacheDtype } : {}),
  };
}

function parseShape(files: ModelFiles): ModelShape {
  try {
    return parseModelConfig(files.configText, `${files.location}/config.json`);
  } catch (error) {
    throw asUserError(error);
  }
}

/** A folder (or the container path /models/X of the project's ./models), else a hub id. */
async function readModel(
  name: string,
  environment: FitEnvironment | undefined,
  io: ModelsIo,
): Promise<ModelFiles> {
  const folder = await localFolder(name, environment, io);
  try {
    if (folder) return await readModelFolder(folder);
    const hubId = /^([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(name);
    if (!hubId?.[1])
      throw new StackctlError(
        'E_USAGE',
        `${name} is neither a folder nor a Hugging Face model id (org/name)`,
        {
          hint: 'give a folder holding config.json and *.safetensors, or an id such as Qwen/Qwen2.5-7B-Instruct',
        },
      );
    if (io.env['HF_HUB_OFFLINE'] === '1')
      throw new StackctlError(
        'E_USAGE',
        `${name} is not a local folder and HF_HUB_OFFLINE=1 forbids asking the hub`,
        {
          hint: 'give the folder the model was downloaded to',
        },
      );
    return await readHubModel(hubId[1], hubId[2] ?? 'main', {
      endpoint: io.env['HF_ENDPOINT'] || DEFAULT_HF_ENDPOINT,
      token: environment?.hfToken ?? (io.env['HF_TOKEN'] || undefined),
      signal: io.signal,
    });
  } catch (error) {
    throw asUserError(error);
  }
}

async function localFolder(
  name: string,
  environment: FitEnvironment | undefined,
  io: ModelsIo,
): Promise<string | undefined> {
  const candidates: string[] = [];
  // The shipped vLLM service mounts the project's ./models at /models.
  if (environment && name.startsWith('/models/'))
    candidates.push(join(environment.root, 'models', name.slice('/models/'.length)));
  candidates.push(isAbsolute(name) ? name : resolve(io.cwd, name));
  for (const candidate of candidates) {
    const found = await stat(candidate).catch(() => undefined);
    if (found?.isDirectory()) return candidate;
  }
  return undefined;
}

function givenGpus(request: ModelFitRequest, settings: FitSettings): FitGpu[] {
  const count = request.gpus ?? settings.tensorParallel * settings.pipelineParallel;
  const vram = request.vramGiB ?? 0;
  return Array.from({ length: count }, (_, index) => ({
    index,
    name: `${vram} GiB GPU`,
    // What nvidia-smi would print for such a card, less what the driver keeps back.
    totalBytes: cudaVisibleBytes(vram * 1024),
    usedBytes: 0,
  }));
}

/** The host's GPUs with the memory other processes hold now, from nvidia-smi's table. */
export async function hostGpus(io: Pick<ModelsIo, 'env' | 'signal'>): Promise<FitGpu[]> {
  const result = await nvidiaSmiRunner({ env: io.env, signal: io.signal })([]);
  if (!result.found)
    throw new StackctlError('E_USAGE', 'no GPU to plan for: nvidia-smi is not on PATH', {
      hint: 'describe the GPUs instead: --vram 24 --gpus 2',
    });
  if (result.exitCode !== 0) {
    const failure = classifyNvidiaSmiFailure(result.output);
    throw new StackctlError('E_PREFLIGHT', `nvidia-smi failed: ${failure.message}`, { hint: failure.fix });
  }
  const rows = parseSmiTable(result.output).filter((row) => row.memoryTotalMiB !== null);
  if (rows.length === 0)
    throw new StackctlError('E_USAGE', 'nvidia-smi lists no GPU whose memory it reports', {
      hint: 'describe the GPUs instead: --vram 24 --gpus 2',
    });
  return rows.map((row) => ({
    index: row.index,
    name: row.name,
    totalBytes: cudaVisibleBytes(row.memoryTotalMiB ?? 0),
    usedBytes: (row.memoryUsedMiB ?? 0) * 2 ** 20,
  }));
}

function asUserError(error: unknown): unknown {
  if (error instanceof ModelFileError)
    return new StackctlError('E_USAGE', error.message, { hint: 'check the model named' });
  if (error instanceof HubError) {
    const hint =
      error.status === 401 || error.status === 403
        ? 'store a token with read access: stackctl secrets set HF_TOKEN --env ENV (from stdin), or export HF_TOKEN'
        : error.status === 404
          ? 'check the model id and revision on the hub (HF_ENDPOINT for a mirror)'
          : 'check the network, or HF_ENDPOINT for a mirror; a downloaded model can be named by its folder';
    return new StackctlError('E_USAGE', error.message, { hint });
  }
  return error;
}

/**
 * Preflight's gathering for vLLM's custom all-reduce: the peer-to-peer matrix of the GPUs it splits
 * the model across (`nvidia-smi topo -p2p r`), when it splits it at all.
 */
export async function gatherAllReduceFacts(
  model: EnvironmentModel,
  devices: readonly number[],
  links: readonly GpuLink[],
  io: Pick<ModelsIo, 'env' | 'signal'>,
): Promise<AllReduceFacts | undefined> {
  const vllm = vllmSettingsOf(model);
  const service = model.services.find((entry) => entry.name === vllm?.service);
  if (!vllm || !service?.gpu || vllm.settings.tensorParallel < 2 || devices.length < 2) return undefined;
  const result = await nvidiaSmiRunner({ env: io.env, signal: io.signal })(['topo', '-p2p', 'r']);
  const cells = result.found && result.exitCode === 0 ? parseP2pMatrix(result.output) : [];
  return {
    service: vllm.service,
    devices: devices.slice(0, vllm.settings.tensorParallel),
    links,
    p2p: cells.length > 0 ? cells : undefined,
    disabled: vllm.disableCustomAllReduce,
  };
}

/** How long preflight waits for the hub before it reports the fit as not checked. */
const PREFLIGHT_HUB_TIMEOUT_MS = 10_000;

/**
 * Preflight's gathering for the environment's vLLM service: its model's fit on the GPUs the layout
 * hands it. Undefined when it runs no vLLM on GPUs; what could not be read is a fact too.
 */
export async function gatherVllmFit(
  environment: FitEnvironment,
  devices: readonly number[],
  io: ModelsIo,
): Promise<VllmFitFact | undefined> {
  const vllm = vllmSettingsOf(environment.model);
  const service = environment.model.services.find((entry) => entry.name === vllm?.service);
  if (!vllm || !service?.gpu || devices.length === 0) return undefined;
  const model = vllm.model ?? '';
  const signal = AbortSignal.any([io.signal, AbortSignal.timeout(PREFLIGHT_HUB_TIMEOUT_MS)]);
  try {
    const [files, gpus] = await Promise.all([
      readModel(model, environment, { ...io, signal }),
      hostGpus({ env: io.env, signal }),
    ]);
    const byIndex = new Map(gpus.map((gpu) => [gpu.index, gpu]));
    const handed = devices
      .map((index) => byIndex.get(index))
      .filter((gpu): gpu is FitGpu => gpu !== undefined);
    const result = planModelFit({
      model: parseShape(files),
      weightsBytes: files.weights.bytes,
      gpus: handed,
      settings: vllm.settings,
    });
    return { service: vllm.service, model, result, flagVariables: vllm.flagVariables };
  } catch (error) {
    if (io.signal.aborted) throw error;
    const reason = signal.aborted
      ? `the hub did not answer within ${PREFLIGHT_HUB_TIMEOUT_MS / 1000} s`
      : (error as Error).message;
    return { service: vllm.service, model, unreadable: reason };
  }
}

// What an environment asks of vLLM: its service's command line with the environment's values in,
// read flag by flag as vLLM reads it. Which schema variable feeds each flag is kept too, so a fix
// can say which variable to set rather than which flag to type.
import type { EnvironmentModel, ResolvedService } from '../model/environment.js';
import { interpolate } from '../schema/interpolate.js';
import type { FitSettings, KvCacheDtype, VllmEngine } from './model-fit.js';

export interface VllmService {
  readonly service: string;
  readonly image: string;
  /** What --model (or `serve MODEL`) names: a hub id or a path inside the container. */
  readonly model: string | undefined;
  readonly settings: FitSettings;
  /** Flag (without dashes) -> the variable its value comes from (`${VLLM_MAX_MODEL_LEN}`). */
  readonly flagVariables: Readonly<Record<string, string>>;
  /** --disable-custom-all-reduce is on the command line. */
  readonly disableCustomAllReduce: boolean;
}

/** vLLM's own defaults, for what the command leaves out. */
export const VLLM_DEFAULTS: FitSettings = {
  tensorParallel: 1,
  pipelineParallel: 1,
  maxModelLen: null,
  gpuMemoryUtilization: 0.9,
  kvCacheDtype: 'auto',
  maxNumSeqs: 256,
  maxNumBatchedTokens: null,
  enforceEager: false,
  engine: 'v1',
};

/** The environment's vLLM service: the one named vllm, else the GPU service whose image is vLLM's. */
export function vllmServiceOf(model: EnvironmentModel): ResolvedService | undefined {
  return (
    model.services.find((service) => service.name === 'vllm' && service.kind === 'service') ??
    model.services.find((service) => /(^|\/)vllm[-/:]|vllm-openai/.test(service.definition.image ?? ''))
  );
}

/** Reads the vLLM service's command as vLLM would; undefined when the environment runs none. */
export function vllmSettingsOf(model: EnvironmentModel): VllmService | undefined {
  const service = vllmServiceOf(model);
  if (!service) return undefined;
  const raw = commandOf(service.definition.command);
  const args = raw.map((arg) => interpolate(arg, model.values).value);
  const image = interpolate(service.definition.image ?? '', model.values).value;
  const flags = readFlags(args);
  const flagVariables: Record<string, string> = {};
  raw.forEach((arg, i) => {
    const flag = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!flag?.[1]) return;
    const valueText = flag[2] ?? raw[i + 1] ?? '';
    const variable = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(valueText)?.[1];
    if (variable) flagVariables[canonical(flag[1])] = variable;
  });
  const number = (name: string): number | undefined => {
    const value = flags.get(name);
    if (value === undefined || value === true || value.trim() === '') return undefined;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  };
  const kvDtype = flags.get('kv-cache-dtype');
  const settings: FitSettings = {
    tensorParallel: number('tensor-parallel-size') ?? VLLM_DEFAULTS.tensorParallel,
    pipelineParallel: number('pipeline-parallel-size') ?? VLLM_DEFAULTS.pipelineParallel,
    maxModelLen: number('max-model-len') ?? null,
    gpuMemoryUtilization: number('gpu-memory-utilization') ?? VLLM_DEFAULTS.gpuMemoryUtilization,
    kvCacheDtype: kvCacheDtypeOf(typeof kvDtype === 'string' ? kvDtype : undefined),
    maxNumSeqs: number('max-num-seqs') ?? VLLM_DEFAULTS.maxNumSeqs,
    maxNumBatchedTokens: number('max-num-batched-tokens') ?? null,
    enforceEager: flags.get('enforce-eager') === true || flags.get('enforce-eager') === 'true',
    engine: engineOf(image),
  };
  const positional =
    args[0] === 'serve' || args[0] === 'vllm'
      ? args.find((arg, i) => i > 0 && !arg.startsWith('-') && arg !== 'serve')
      : undefined;
  const modelName = flags.get('model');
  return {
    service: service.name,
    image,
    model: typeof modelName === 'string' && modelName !== '' ? modelName : positional,
    settings,
    flagVariables,
    disableCustomAllReduce:
      flags.has('disable-custom-all-reduce') && flags.get('disable-custom-all-reduce') !== 'false',
  };
}

/** `fp8`, `fp8_e4m3` and `fp8_e5m2` all store one byte per element. */
export function kvCacheDtypeOf(value: string | undefined): KvCacheDtype {
  return value !== undefined && value.startsWith('fp8') ? 'fp8' : 'auto';
}

/** V0 before 0.8 (it profiles a whole max-model-len prefill); V1 from 0.8, and for any tag that is not a version. */
export function engineOf(image: string): VllmEngine {
  const tag = /:v?(\d+)\.(\d+)(?:\.\d+)?(?:[^/]*)$/.exec(image);
  if (!tag) return 'v1';
  const [major, minor] = [Number(tag[1]), Number(tag[2])];
  return major === 0 && minor < 8 ? 'v0' : 'v1';
}

function commandOf(command: string | readonly string[] | undefined): string[] {
  if (command === undefined) return [];
  if (typeof command === 'string') return command.split(/\s+/).filter((part) => part !== '');
  return [...command];
}

/** --flag value, --flag=value and bare --flag (true); underscores read as dashes, as vLLM does. */
function readFlags(args: readonly string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i += 1) {
    const flag = /^--([a-z0-9_-]+)(?:=(.*))?$/i.exec(args[i] ?? '');
    if (!flag?.[1]) continue;
    const name = canonical(flag[1]);
    if (flag[2] !== undefined) flags.set(name, flag[2]);
    else if (args[i + 1] !== undefined && !(args[i + 1] ?? '').startsWith('--')) {
      flags.set(name, args[i + 1] ?? '');
      i += 1;
    } else flags.set(name, true);
  }
  return flags;
}

function canonical(flag: string): string {
  return flag.toLowerCase().replace(/_/g, '-');
}

import { StackctlError } from '../errors.js';
import type { NvidiaSmiRunner } from './nvidia-smi/runner.js';
import { classifyNvidiaSmiFailure } from './nvidia-smi/failure.js';
import { GPU_QUERY_FIELDS, parseGpuQuery, QueryParseError } from './nvidia-smi/query.js';
import { parseTopology, TopologyParseError, type GpuLink, type Topology } from './nvidia-smi/topology.js';

export interface DetectedGpu {
  readonly index: number;
  readonly name: string;
  readonly memoryTotalMiB: number | null;
  readonly driverVersion: string;
  readonly cpuAffinity: string | null;
  readonly numaAffinity: string | null;
}

export interface GpuDetection {
  /** False when there is no nvidia-smi on PATH. */
  readonly nvidiaSmi: boolean;
  readonly gpus: readonly DetectedGpu[];
  readonly links: readonly GpuLink[];
  /** Why part of the picture is missing (a driver without `topo`), one line each. */
  readonly notes: readonly string[];
}

export const GPU_QUERY_ARGS = [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
export const TOPOLOGY_ARGS = ['topo', '-m'];

/** Asks nvidia-smi for the GPUs and their topology. A failing driver is an E_PREFLIGHT error in its own words. */
export async function detectGpus(run: NvidiaSmiRunner): Promise<GpuDetection> {
  const query = await run(GPU_QUERY_ARGS);
  if (!query.found) return { nvidiaSmi: false, gpus: [], links: [], notes: ['nvidia-smi is not on PATH'] };
  if (query.exitCode !== 0) throw nvidiaSmiError(query.output);
  let listed;
  try {
    listed = parseGpuQuery(query.output);
  } catch (error) {
    if (error instanceof QueryParseError) throw nvidiaSmiError(query.output);
    throw error;
  }
  if (listed.length === 0)
    return { nvidiaSmi: true, gpus: [], links: [], notes: ['nvidia-smi lists no GPU'] };

  const notes: string[] = [];
  const topology = await readTopology(run, notes);
  const byIndex = new Map(topology?.gpus.map((gpu) => [gpu.index, gpu]));
  const indexes = new Set(listed.map((gpu) => gpu.index));
  return {
    nvidiaSmi: true,
    gpus: listed.map((gpu) => ({
      ...gpu,
      cpuAffinity: byIndex.get(gpu.index)?.cpuAffinity ?? null,
      numaAffinity: byIndex.get(gpu.index)?.numaAffinity ?? null,
    })),
    links: (topology?.links ?? []).filter((link) => indexes.has(link.a) && indexes.has(link.b)),
    notes,
  };
}

async function readTopology(run: NvidiaSmiRunner, notes: string[]): Promise<Topology | undefined> {
  const result = await run(TOPOLOGY_ARGS);
  if (!result.found) return undefined;
  if (result.exitCode !== 0) {
    notes.push(
      `nvidia-smi topo -m failed, so GPU links are unknown: ${classifyNvidiaSmiFailure(result.output).message}`,
    );
    return undefined;
  }
  try {
    return parseTopology(result.output);
  } catch (error) {
    if (!(error instanceof TopologyParseError)) throw error;
    notes.push(`could not read nvidia-smi topo -m, so GPU links are unknown: ${error.message}`);
    return undefined;
  }
}

export function nvidiaSmiError(output: string): StackctlError {
  const failure = classifyNvidiaSmiFailure(output);
  return new StackctlError('E_PREFLIGHT', `nvidia-smi failed: ${failure.message}`, { hint: failure.fix });
}

import type { GpuLink } from '../host/nvidia-smi/topology.js';

export type GpuMode = 'auto' | 'multi' | 'single' | 'cpu';
export type GpuProfileName = 'multi' | 'single' | 'cpu';
export const GPU_MODES: readonly GpuMode[] = ['auto', 'multi', 'single', 'cpu'];

/** The GPUs a host has, as `gpu detect` reports them. */
export interface GpuFacts {
  readonly gpus: readonly { readonly index: number }[];
  readonly links: readonly GpuLink[];
}

/** Which GPUs the stack uses and how vLLM splits a model across them. */
export interface GpuLayout {
  readonly profile: GpuProfileName;
  /** GPU indexes handed to the GPU services, in order. */
  readonly devices: readonly number[];
  readonly tensorParallelSize: number;
  /** Every pair of the devices is joined by NVLink. */
  readonly nvlinked: boolean;
  /** The variables generated env files carry for this layout. */
  readonly variables: Readonly<Record<string, string>>;
  /** Things the user should know (costs of the layout), each one line. */
  readonly notes: readonly string[];
}

export type LayoutChoice =
  | {
      readonly ok: true;
      readonly layout: GpuLayout;
      /** Set when the environment's preferred profile did not fit and its fallback was taken. */
      readonly fallbackFrom?: { readonly mode: GpuMode; readonly reason: string };
    }
  | { readonly ok: false; readonly reason: string; readonly fix: string; readonly workingMode: GpuMode };

/**
 * Picks the GPU layout for a host. auto: multi when two or more GPUs share NVLink, else single
 * when there is a GPU, else cpu. The tensor parallel size is the largest power of two not above
 * the NVLink-connected group the profile uses.
 */
export function chooseGpuLayout(facts: GpuFacts, mode: GpuMode): LayoutChoice {
  const indexes = facts.gpus.map((gpu) => gpu.index).sort((a, b) => a - b);
  const group = largestNvlinkGroup(indexes, facts.links);
  const profile: GpuProfileName =
    mode !== 'auto' ? mode : group.length >= 2 ? 'multi' : indexes.length >= 1 ? 'single' : 'cpu';

  if (profile === 'cpu') return { ok: true, layout: layout('cpu', [], facts.links, []) };

  if (indexes.length === 0) {
    return {
      ok: false,
      reason: `the ${profile} GPU profile needs ${profile === 'multi' ? 'two GPUs' : 'a GPU'}, and this host has none`,
      fix: 'use --gpu cpu (GPU services then run without a device reservation)',
      workingMode: 'cpu',
    };
  }
  if (profile === 'single') {
    const notes =
      indexes.length > 1 ? [`using GPU ${indexes[0]} of ${indexes.length}; --gpu multi would use more`] : [];
    return { ok: true, layout: layout('single', indexes.slice(0, 1), facts.links, notes) };
  }
  if (indexes.length < 2) {
    return {
      ok: false,
      reason: `the multi GPU profile needs two GPUs, and this host has ${indexes.length}`,
      fix: 'use --gpu single (or --gpu auto)',
      workingMode: 'single',
    };
  }
  const pool = group.length >= 2 ? group : indexes;
  const size = largestPowerOfTwo(pool.length);
  const devices = pool.slice(0, size);
  const notes: string[] = [];
  if (group.length < 2) {
    notes.push(
      `no NVLink between GPUs ${devices.join(', ')}: tensor-parallel traffic crosses ${pathBetween(devices, facts.links)}, ` +
        'which costs throughput (often 20-40% for 2-way tensor parallelism); an NVLink bridge or --gpu single avoids it',
    );
  }
  if (pool.length > size) {
    notes.push(`tensor parallelism needs a power of two: using ${size} of ${pool.length} linked GPUs`);
  }
  return { ok: true, layout: layout('multi', devices, facts.links, notes) };
}

/**
 * The layout for an environment's own profile (no --gpu, nothing recorded): the preferred mode, or
 * its gpu.fallback when the preferred one does not fit this host (multi on a one-GPU machine).
 */
export function chooseWithFallback(
  facts: GpuFacts,
  preferred: GpuMode,
  fallback: GpuMode | undefined,
): LayoutChoice {
  const choice = chooseGpuLayout(facts, preferred);
  if (choice.ok || fallback === undefined || fallback === preferred) return choice;
  const second = chooseGpuLayout(facts, fallback);
  return second.ok ? { ...second, fallbackFrom: { mode: preferred, reason: choice.reason } } : choice;
}

function layout(
  profile: GpuProfileName,
  devices: number[],
  links: readonly GpuLink[],
  notes: string[],
): GpuLayout {
  const list = devices.join(',');
  const tensorParallelSize = Math.max(1, devices.length);
  return {
    profile,
    devices,
    tensorParallelSize,
    nvlinked: devices.length >= 2 && allPairsLinked(devices, links),
    variables: {
      CUDA_VISIBLE_DEVICES: list,
      // "void" tells the NVIDIA runtime to expose no GPU at all.
      NVIDIA_VISIBLE_DEVICES: devices.length === 0 ? 'void' : list,
      VLLM_TENSOR_PARALLEL_SIZE: String(tensorParallelSize),
      VLLM_PIPELINE_PARALLEL_SIZE: '1',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      GPU_COUNT: String(devices.length),
    },
    notes,
  };
}

/** The largest set of GPUs connected through NVLink (lowest indexes first on ties). */
export function largestNvlinkGroup(indexes: readonly number[], links: readonly GpuLink[]): number[] {
  const neighbours = new Map<number, number[]>(indexes.map((index) => [index, []]));
  for (const link of links) {
    if (link.type !== 'NV') continue;
    neighbours.get(link.a)?.push(link.b);
    neighbours.get(link.b)?.push(link.a);
  }
  const seen = new Set<number>();
  let best: number[] = [];
  for (const start of indexes) {
    if (seen.has(start)) continue;
    const component: number[] = [];
    const queue = [start];
    seen.add(start);
    while (queue.length > 0) {
      const node = queue.shift() as number;
      component.push(node);
      for (const next of neighbours.get(node) ?? []) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    component.sort((a, b) => a - b);
    if (component.length > best.length) best = component;
  }
  return best.length >= 2 ? best : [];
}

function largestPowerOfTwo(n: number): number {
  let size = 1;
  while (size * 2 <= n) size *= 2;
  return size;
}

function allPairsLinked(devices: readonly number[], links: readonly GpuLink[]): boolean {
  const nv = new Set(links.filter((link) => link.type === 'NV').map((link) => `${link.a}-${link.b}`));
  return devices.every((a, i) =>
    devices.slice(i + 1).every((b) => nv.has(`${Math.min(a, b)}-${Math.max(a, b)}`)),
  );
}

const PATH_WORDS: Record<string, string> = {
  PIX: 'a PCIe switch (PIX)',
  PXB: 'several PCIe bridges (PXB)',
  PHB: 'the CPU host bridge (PHB)',
  NODE: 'PCIe host bridges within a NUMA node (NODE)',
  SYS: 'the inter-socket interconnect (SYS)',
};

function pathBetween(devices: readonly number[], links: readonly GpuLink[]): string {
  const [a, b] = devices;
  const link = links.find((l) => l.a === Math.min(a ?? 0, b ?? 0) && l.b === Math.max(a ?? 0, b ?? 0));
  return link ? (PATH_WORDS[link.type] ?? link.type) : 'PCIe';
}

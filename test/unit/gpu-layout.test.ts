import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/host/nvidia-smi/topology.js';
import {
  chooseGpuLayout,
  chooseWithFallback,
  type GpuFacts,
  type GpuMode,
} from '../../src/plan/gpu-layout.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const facts = (file: string): GpuFacts =>
  parseTopology(readFileSync(join(HOST_FIXTURES, 'nvidia-smi', file), 'utf8'));
const choose = (file: string, mode: GpuMode) => chooseGpuLayout(facts(file), mode);

describe('chooseGpuLayout', () => {
  it('auto on two NVLink-joined RTX 3090s (the seeds) is multi with tensor parallel 2', () => {
    const choice = choose('topo-2x3090-nv4-01.txt', 'auto');
    expect(choice).toMatchObject({
      ok: true,
      layout: { profile: 'multi', devices: [0, 1], tensorParallelSize: 2, nvlinked: true, notes: [] },
    });
    expect(choice.ok && choice.layout.variables).toEqual({
      CUDA_VISIBLE_DEVICES: '0,1',
      NVIDIA_VISIBLE_DEVICES: '0,1',
      VLLM_TENSOR_PARALLEL_SIZE: '2',
      VLLM_PIPELINE_PARALLEL_SIZE: '1',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      GPU_COUNT: '2',
    });
  });

  it('auto on two 3090s without a bridge is single', () => {
    expect(choose('topo-2x3090-phb-tabs-01.txt', 'auto')).toMatchObject({
      ok: true,
      layout: { profile: 'single', devices: [0], tensorParallelSize: 1 },
    });
  });

  it('multi forced without NVLink works but says what it costs', () => {
    const choice = choose('topo-2x3090-phb-spaces-01.txt', 'multi');
    expect(choice).toMatchObject({
      ok: true,
      layout: { profile: 'multi', devices: [0, 1], nvlinked: false },
    });
    expect(choice.ok && choice.layout.notes[0]).toMatch(
      /no NVLink between GPUs 0, 1: .*host bridge \(PHB\).*throughput/,
    );
  });

  it('uses the NVLink pair, not the unlinked third GPU', () => {
    expect(choose('topo-3xa6000-nv4-pair-node-ansi-01.txt', 'auto')).toMatchObject({
      ok: true,
      layout: { profile: 'multi', devices: [0, 1], tensorParallelSize: 2, nvlinked: true },
    });
  });

  it('takes the largest power of two of a linked group', () => {
    expect(choose('topo-8xv100-dgx1-hybrid-cube-nv1-nv2-mlx5-01.txt', 'auto')).toMatchObject({
      ok: true,
      layout: { profile: 'multi', tensorParallelSize: 8, devices: [0, 1, 2, 3, 4, 5, 6, 7] },
    });
    const fiveLinked = facts('topo-5gpu-sys-phb-node-mix-01.txt');
    const choice = chooseGpuLayout(
      {
        gpus: fiveLinked.gpus,
        links: fiveLinked.links.map((link) => ({ ...link, type: 'NV' as const, count: 2 })),
      },
      'auto',
    );
    expect(choice).toMatchObject({ ok: true, layout: { tensorParallelSize: 4, devices: [0, 1, 2, 3] } });
    expect(choice.ok && choice.layout.notes).toContain(
      'tensor parallelism needs a power of two: using 4 of 5 linked GPUs',
    );
  });

  it('single on a one-GPU host; cpu without GPUs', () => {
    expect(choose('topo-1xp4-single-gpu-numa-na-tabs-01.txt', 'auto')).toMatchObject({
      ok: true,
      layout: { profile: 'single', devices: [0] },
    });
    const cpu = chooseGpuLayout({ gpus: [], links: [] }, 'auto');
    expect(cpu).toMatchObject({ ok: true, layout: { profile: 'cpu', devices: [], tensorParallelSize: 1 } });
    expect(cpu.ok && cpu.layout.variables).toMatchObject({ NVIDIA_VISIBLE_DEVICES: 'void', GPU_COUNT: '0' });
  });

  it('fails multi on one GPU and names the choice that works', () => {
    expect(choose('topo-1xh100-mig-enabled-ansi-tabs-01.txt', 'multi')).toEqual({
      ok: false,
      reason: 'the multi GPU profile needs two GPUs, and this host has 1',
      fix: 'use --gpu single (or --gpu auto)',
      workingMode: 'single',
    });
    expect(chooseGpuLayout({ gpus: [], links: [] }, 'single')).toMatchObject({
      ok: false,
      workingMode: 'cpu',
    });
  });
});

describe('chooseWithFallback', () => {
  const oneH100 = 'topo-1xh100-gpu-numa-id-column-ansi-tabs-01.txt';

  it("takes the environment's fallback when its preferred profile does not fit, and says why", () => {
    const choice = chooseWithFallback(facts(oneH100), 'multi', 'single');
    expect(choice).toMatchObject({
      ok: true,
      layout: { profile: 'single', devices: [0], tensorParallelSize: 1 },
      fallbackFrom: { mode: 'multi', reason: 'the multi GPU profile needs two GPUs, and this host has 1' },
    });
  });

  it('keeps the preferred profile when it fits, and fails as before without a fallback', () => {
    const fits = chooseWithFallback(facts('topo-4xh100-nv18-8nic-phb-01.txt'), 'multi', 'single');
    expect(fits).toMatchObject({ ok: true, layout: { profile: 'multi' } });
    expect(fits.ok && fits.fallbackFrom).toBeFalsy();
    expect(chooseWithFallback(facts(oneH100), 'multi', undefined)).toMatchObject({
      ok: false,
      workingMode: 'single',
    });
  });
});

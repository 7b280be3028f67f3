import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/host/nvidia-smi/topology.js';
import { decideGpu, describeGpuDecision, needsGpuDetection } from '../../src/plan/gpu-choice.js';
import type { GpuFacts } from '../../src/plan/gpu-layout.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const facts = (file: string): GpuFacts =>
  parseTopology(readFileSync(join(HOST_FIXTURES, 'nvidia-smi', file), 'utf8'));
const nvlinkPair = { ok: true, facts: facts('topo-2x3090-nv4-01.txt') } as const;
const notAsked = { ok: false, why: '--skip-preflight' } as const;
const recorded = { profile: 'single', variables: { CUDA_VISIBLE_DEVICES: '1', GPU_COUNT: '1' } };

describe('decideGpu: the one place a run’s GPU layout is chosen', () => {
  it('--gpu cpu wins over a recorded choice and the profile, host asked or not', () => {
    for (const detection of [nvlinkPair, notAsked]) {
      const decision = decideGpu({ flag: 'cpu', recorded, profile: 'multi', detection });
      expect(decision.selection).toEqual({ profile: 'cpu', variables: {} });
      expect(decision.source).toBe('asked');
      expect(describeGpuDecision(decision)).toBe('GPU layout: cpu (asked with --gpu)');
    }
  });

  it('a named --gpu without the host keeps that profile and says it was not checked', () => {
    const decision = decideGpu({ flag: 'single', profile: 'multi', detection: notAsked });
    expect(decision.selection).toEqual({ profile: 'single', variables: {} });
    expect(describeGpuDecision(decision)).toBe(
      'GPU layout: single (asked with --gpu; not checked against this host: --skip-preflight)',
    );
  });

  it('with the host’s GPUs, the layout names the devices', () => {
    const decision = decideGpu({ flag: 'auto', profile: 'single', detection: nvlinkPair });
    expect(decision.selection.profile).toBe('multi');
    expect(decision.selection.variables['CUDA_VISIBLE_DEVICES']).toBe('0,1');
    expect(describeGpuDecision(decision)).toBe(
      'GPU layout: multi on GPUs 0,1, tensor parallel 2 (asked with --gpu)',
    );
  });

  it('a recorded choice is used as recorded when the host is not asked', () => {
    const decision = decideGpu({ recorded, profile: 'multi', detection: notAsked });
    expect(decision.selection).toEqual(recorded);
    expect(decision.source).toBe('recorded');
  });

  it('only the environment’s own profile falls back, and the line says why', () => {
    const oneGpu = { ok: true, facts: { gpus: [{ index: 0 }], links: [] } } as const;
    const own = decideGpu({ profile: 'multi', fallback: 'single', detection: oneGpu });
    expect(own.selection.profile).toBe('single');
    expect(describeGpuDecision(own)).toBe(
      "GPU layout: single on GPU 0 (the environment's profile; multi does not fit: the multi GPU profile needs two GPUs, and this host has 1)",
    );
    const asked = decideGpu({ flag: 'multi', profile: 'multi', fallback: 'single', detection: oneGpu });
    expect(asked.layout?.ok).toBe(false);
    expect(asked.selection.profile).toBe('multi');
  });

  it('asks the host only when the decision depends on it', () => {
    expect(needsGpuDetection({ flag: 'cpu', profile: 'multi' }, true)).toBe(false);
    expect(needsGpuDetection({ profile: 'multi' }, false)).toBe(false);
    expect(needsGpuDetection({ profile: 'multi' }, true)).toBe(true);
    expect(needsGpuDetection({ flag: 'single', profile: 'cpu' }, false)).toBe(true);
    expect(needsGpuDetection({ recorded: { profile: 'cpu', variables: {} }, profile: 'multi' }, true)).toBe(
      false,
    );
  });
});

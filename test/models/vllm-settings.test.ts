// What an environment asks of vLLM, read from its service's command with the environment's values.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveEnvironment } from '../../src/model/environment.js';
import { engineOf, kvCacheDtypeOf, vllmSettingsOf } from '../../src/plan/vllm-settings.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { SHIPPED_SCHEMA } from '../helpers/paths.js';

const file = (await validateStackText(readFileSync(SHIPPED_SCHEMA, 'utf8'), { fileName: 's' }))
  .file as StackFile;

describe('vllmSettingsOf', () => {
  it("reads production's vLLM command: the multi profile's tensor parallel, the values, V0 for v0.6.3", () => {
    const vllm = vllmSettingsOf(resolveEnvironment(file, 'production'));
    expect(vllm).toMatchObject({
      service: 'vllm',
      image: 'vllm/vllm-openai:v0.6.3',
      model: 'microsoft/DialoGPT-medium',
      settings: {
        tensorParallel: 2,
        pipelineParallel: 1,
        maxModelLen: 1024,
        gpuMemoryUtilization: 0.9,
        kvCacheDtype: 'auto',
        maxNumSeqs: 8,
        maxNumBatchedTokens: null,
        enforceEager: false,
        engine: 'v0',
      },
      flagVariables: {
        model: 'VLLM_MODEL',
        'gpu-memory-utilization': 'VLLM_GPU_MEMORY_UTILIZATION',
        'max-model-len': 'VLLM_MAX_MODEL_LEN',
        'max-num-seqs': 'VLLM_MAX_NUM_SEQS',
        'tensor-parallel-size': 'VLLM_TENSOR_PARALLEL_SIZE',
        'pipeline-parallel-size': 'VLLM_PIPELINE_PARALLEL_SIZE',
      },
    });
  });

  it('takes the single profile and an environment without vLLM as they are', () => {
    const single = resolveEnvironment(file, 'production', {
      profile: 'single',
      variables: file.gpuProfiles['single']?.variables as Record<string, string>,
    });
    expect(vllmSettingsOf(single)?.settings.tensorParallel).toBe(1);
    const withoutVllm = Object.keys(file.environments).find(
      (name) => !file.environments[name]!.services.includes('vllm'),
    );
    expect(withoutVllm).toBeDefined();
    expect(vllmSettingsOf(resolveEnvironment(file, withoutVllm!))).toBeUndefined();
  });

  it('tells the engine generation from the image tag and fp8 KV caches from their names', () => {
    expect(engineOf('vllm/vllm-openai:v0.6.3')).toBe('v0');
    expect(engineOf('vllm/vllm-openai:v0.7.3')).toBe('v0');
    expect(engineOf('vllm/vllm-openai:v0.8.5')).toBe('v1');
    expect(engineOf('registry.local:5000/vllm/vllm-openai:v0.10.1.1')).toBe('v1');
    expect(engineOf('vllm/vllm-openai:latest')).toBe('v1');
    expect(engineOf('vllm/vllm-openai')).toBe('v1');
    expect(kvCacheDtypeOf('fp8_e5m2')).toBe('fp8');
    expect(kvCacheDtypeOf('auto')).toBe('auto');
  });
});

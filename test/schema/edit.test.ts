// Editing the stack file for the user: only the values asked for change.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { setEnvironmentVariables } from '../../src/schema/edit.js';
import { validateStackText } from '../../src/schema/validate.js';
import { SHIPPED_SCHEMA } from '../helpers/paths.js';

describe('setEnvironmentVariables', () => {
  it("changes one environment's variables in the shipped schema and nothing else", async () => {
    const text = await readFile(SHIPPED_SCHEMA, 'utf8');
    const edited = setEnvironmentVariables(text, 'development', {
      VLLM_MODEL: 'Qwen/Qwen2.5-7B-Instruct',
      VLLM_MAX_MODEL_LEN: 8192,
    });
    const result = await validateStackText(edited, { fileName: 'edited.yaml' });
    expect(result.valid).toBe(true);
    expect(result.file?.environments['development']?.variables).toMatchObject({
      VLLM_MODEL: 'Qwen/Qwen2.5-7B-Instruct',
      VLLM_MAX_MODEL_LEN: 8192,
      LOG_LEVEL: 'DEBUG',
    });
    expect(result.file?.environments['staging']?.variables?.['VLLM_MODEL']).toBeUndefined();
    // Every line but the ones added is as it was, comments included.
    const before = text.split('\n');
    const after = edited.split('\n');
    expect(after.length - before.length).toBe(2);
    expect(after.filter((line) => !before.includes(line))).toEqual([
      '      VLLM_MODEL: Qwen/Qwen2.5-7B-Instruct',
      '      VLLM_MAX_MODEL_LEN: 8192',
    ]);
  });

  it('replaces a value already set, and refuses an environment that is not there', () => {
    const text = 'environments:\n  a:\n    # the model\n    variables: { VLLM_MODEL: old/model }\n';
    expect(setEnvironmentVariables(text, 'a', { VLLM_MODEL: 'new/model' })).toBe(
      'environments:\n  a:\n    # the model\n    variables: { VLLM_MODEL: new/model }\n',
    );
    expect(() => setEnvironmentVariables(text, 'b', { VLLM_MODEL: 'x/y' })).toThrow(/no environment b/);
  });

  it('adds the variables map, or a key to a flow map, where there is none', () => {
    const bare =
      'environments:\n  a:\n    description: x # kept\n    services: [a, b]\n  b:\n    description: y\n';
    expect(setEnvironmentVariables(bare, 'a', { VLLM_MODEL: 'org/name' })).toBe(
      'environments:\n  a:\n    description: x # kept\n    services: [a, b]\n    variables:\n      VLLM_MODEL: org/name\n  b:\n    description: y\n',
    );
    const flow = 'environments:\n  a:\n    variables: { LOG_LEVEL: INFO }\n';
    expect(setEnvironmentVariables(flow, 'a', { VLLM_MODEL: 'org/name', VLLM_MAX_MODEL_LEN: 4096 })).toBe(
      'environments:\n  a:\n    variables: { LOG_LEVEL: INFO, VLLM_MODEL: org/name, VLLM_MAX_MODEL_LEN: 4096 }\n',
    );
    expect(setEnvironmentVariables(flow, 'a', { VLLM_MODEL: 'true' })).toContain('VLLM_MODEL: "true"');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { environmentValues, applyOverride } from '../../src/schema/values.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { SHIPPED_SCHEMA } from '../helpers/paths.js';

const text = readFileSync(SHIPPED_SCHEMA, 'utf8');
const result = await validateStackText(text, { fileName: 'schemas/compose-schema.yaml' });
const file = result.file as StackFile;

const CORE = ['postgres', 'redis', 'qdrant', 'minio'];
const INFERENCE = ['vllm', 'litellm'];
const AI = [
  'multimodal-worker',
  'retrieval-proxy',
  'ai-agents',
  'memory-system',
  'search-engine',
  'user-management',
];
const UI = ['openwebui', 'n8n', 'n8n-monitoring', 'nginx'];
const BASE = [...CORE, ...INFERENCE, ...AI, ...UI];

// The seeds' environment execution matrix (seeds/000, "Environment Execution Matrix").
const MATRIX = {
  development: { services: BASE, memory: 24, util: 0.8, log: 'DEBUG', debug: true, gpu: true },
  staging: {
    services: BASE.filter((s) => s !== 'nginx'),
    memory: 12,
    util: 0.85,
    log: 'INFO',
    debug: false,
    gpu: true,
  },
  production: {
    // Full monitoring: Prometheus scrapes the host, PostgreSQL and Redis through their exporters.
    services: [
      ...BASE,
      'prometheus',
      'grafana',
      'node-exporter',
      'cadvisor',
      'dcgm-exporter',
      'postgres-exporter',
      'redis-exporter',
    ],
    memory: 20,
    util: 0.9,
    log: 'WARNING',
    debug: false,
    gpu: true,
  },
  testing: {
    services: ['allure-results', 'allure-report', 'allure-cli'],
    memory: 2,
    util: undefined,
    log: 'DEBUG',
    debug: true,
    gpu: false,
  },
  performance: { services: ['jmeter'], memory: 4, util: undefined, log: 'INFO', debug: false, gpu: false },
  monitoring: {
    services: [...BASE, 'elasticsearch', 'kibana', 'logstash', 'filebeat'],
    memory: 16,
    util: 0.8,
    log: 'INFO',
    debug: false,
    gpu: true,
  },
  optimized: {
    services: [...CORE, ...INFERENCE, ...AI, 'nginx'],
    memory: 24,
    util: 0.9,
    log: 'WARNING',
    debug: false,
    gpu: true,
  },
} as const;

function service(env: string, name: string) {
  const def = file.services[name];
  if (!def) throw new Error(`no service ${name}`);
  return applyOverride(def, file.environments[env]?.overrides?.[name]);
}

describe('the shipped schema', () => {
  it('validates clean: no errors and no warnings', () => {
    expect(result.issues).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes every service of the real stack in its stack', () => {
    const byStack = (stack: string) =>
      Object.entries(file.services)
        .filter(([, def]) => def.stack === stack)
        .map(([name]) => name)
        .sort();
    expect(byStack('core')).toEqual([...CORE].sort());
    expect(byStack('inference')).toEqual([...INFERENCE].sort());
    expect(byStack('ai')).toEqual([...AI].sort());
    expect(byStack('ui')).toEqual([...UI].sort());
    expect(byStack('testing')).toEqual(['allure-cli', 'allure-report', 'allure-results', 'jmeter']);
    expect(byStack('monitoring')).toEqual([
      'cadvisor',
      'dcgm-exporter',
      'elasticsearch',
      'filebeat',
      'grafana',
      'kibana',
      'logstash',
      'node-exporter',
      'postgres-exporter',
      'prometheus',
      'redis-exporter',
    ]);
  });

  it('wires stack dependencies as the seeds do', () => {
    const deps = Object.fromEntries(
      Object.entries(file.stacks).map(([name, def]) => [name, def.dependsOn ?? []]),
    );
    expect(deps).toEqual({
      core: [],
      inference: ['core'],
      ai: ['core', 'inference'],
      ui: ['core', 'ai'],
      testing: ['core'],
      monitoring: ['core'],
    });
  });

  it('reserves GPUs only for vllm and multimodal-worker', () => {
    const gpu = Object.entries(file.services)
      .filter(([, def]) => def.gpu === true)
      .map(([name]) => name);
    expect(gpu.sort()).toEqual(['multimodal-worker', 'vllm']);
  });

  it('has the seven secret types with their lengths and rotation periods', () => {
    const types = Object.fromEntries(
      Object.entries(file.secretTypes).map(([name, def]) => [name, [def.length, def.rotationDays]]),
    );
    expect(types).toEqual({
      database_password: [32, 90],
      storage_password: [32, 90],
      api_key: [64, 180],
      jwt_secret: [64, 30],
      webui_secret: [32, 90],
      service_password: [32, 90],
      encryption_key: [32, 365],
    });
  });

  it('runs the first-run flow on development with fresh secrets', () => {
    expect(file.firstRun).toMatchObject({ environment: 'development', regenerateSecrets: true });
  });

  describe.each(Object.entries(MATRIX))('environment %s', (env, expected) => {
    const def = file.environments[env];
    if (!def) throw new Error(`no environment ${env}`);
    const values = environmentValues(file, def);

    it('runs exactly the services of the matrix', () => {
      expect([...def.services].sort()).toEqual([...expected.services].sort());
    });

    it('has the memory minimum, log level and debug flag of the matrix', () => {
      expect(def.memoryMinimumGb).toBe(expected.memory);
      expect(values.get('LOG_LEVEL')).toBe(expected.log);
      expect(values.get('DEBUG')).toBe(String(expected.debug));
    });

    it('requires GPUs and splits vLLM across two of them only where the matrix says', () => {
      expect(def.gpu.required).toBe(expected.gpu);
      expect(def.gpu.profile).toBe(expected.gpu ? 'multi' : 'cpu');
      if (expected.gpu) {
        expect(def.gpu.fallback).toBe('single');
        expect(values.get('VLLM_TENSOR_PARALLEL_SIZE')).toBe('2');
        expect(values.get('CUDA_VISIBLE_DEVICES')).toBe('0,1');
        expect(values.get('VLLM_GPU_MEMORY_UTILIZATION')).toBe(String(expected.util));
      } else {
        expect(values.get('GPU_COUNT')).toBe('0');
      }
    });

    it('uses fast health checks only for testing', () => {
      expect(def.healthcheckTemplate ?? 'standard').toBe(env === 'testing' ? 'fast' : 'standard');
    });
  });

  it('applies the memory limits and replicas of the matrix', () => {
    const memory = (env: string, name: string) => service(env, name).deploy?.resources?.limits?.memory;
    const replicas = (env: string, name: string) => service(env, name).deploy?.replicas ?? 1;
    expect(memory('staging', 'postgres')).toBe('2G');
    expect(memory('staging', 'redis')).toBe('512M');
    expect(memory('production', 'postgres')).toBe('4G');
    expect(memory('production', 'redis')).toBe('1G');
    expect([replicas('development', 'multimodal-worker'), replicas('staging', 'multimodal-worker')]).toEqual([
      1, 2,
    ]);
    expect([replicas('production', 'multimodal-worker'), replicas('optimized', 'multimodal-worker')]).toEqual(
      [3, 3],
    );
    expect([replicas('staging', 'retrieval-proxy'), replicas('production', 'retrieval-proxy')]).toEqual([
      2, 3,
    ]);
    expect(replicas('optimized', 'retrieval-proxy')).toBe(2);
    expect([replicas('staging', 'litellm'), replicas('production', 'litellm')]).toEqual([1, 2]);
  });

  it('keeps every address pool private and distinct', () => {
    const pools = Object.values(file.environments).map((env) => env.addressPool);
    expect(new Set(pools).size).toBe(pools.length);
    for (const pool of pools) expect(pool).toMatch(/^10\./);
  });

  it('publishes the ports the seeds list', () => {
    const defaults = Object.fromEntries(
      Object.entries(file.variables)
        .filter(([name]) => name.endsWith('_PORT'))
        .map(([name, def]) => [name, def.default]),
    );
    expect(defaults).toMatchObject({
      OPENWEBUI_PORT: 3030,
      LITELLM_PORT: 4000,
      VLLM_PORT: 8000,
      MULTIMODAL_WORKER_PORT: 8001,
      RETRIEVAL_PROXY_PORT: 8002,
      AI_AGENTS_PORT: 8003,
      MEMORY_SYSTEM_PORT: 8004,
      SEARCH_ENGINE_PORT: 8005,
      USER_MANAGEMENT_PORT: 8006,
      POSTGRES_PORT: 5432,
      REDIS_PORT: 6379,
      QDRANT_HTTP_PORT: 6333,
      MINIO_PORT: 9000,
      MINIO_CONSOLE_PORT: 9002,
      N8N_PORT: 5678,
      PROMETHEUS_PORT: 9090,
      GRAFANA_PORT: 3000,
      ELASTICSEARCH_PORT: 9200,
      KIBANA_PORT: 5601,
      LOGSTASH_API_PORT: 9600,
    });
  });
});

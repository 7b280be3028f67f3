// The config files the shipped stack mounts, generated from the schema (issue 14): nginx.conf
// with an upstream of every replica (checked by the real nginx -t), the LiteLLM model list from the
// vLLM settings and GPU profile, prometheus.yml, the ELK pipeline; and how compose mounts them.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderEnvironmentOverride } from '../../src/generate/compose-files.js';
import { renderConfigFiles } from '../../src/generate/config-files.js';
import { resolveEnvironment } from '../../src/model/environment.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { runCli } from '../helpers/cli.js';
import { shippedProject } from '../helpers/project.js';
import { HOST_FIXTURES, SHIPPED_SCHEMA } from '../helpers/paths.js';
import { runOneOff } from '../helpers/one-off.js';

const text = readFileSync(SHIPPED_SCHEMA, 'utf8');
const file = (await validateStackText(text, { fileName: 'schemas/compose-schema.yaml' })).file as StackFile;
const HEADER = ['# header'];

const configsOf = (env: string, profile?: string) =>
  renderConfigFiles(
    file,
    resolveEnvironment(file, env, profile ? { profile, variables: {} } : undefined),
    HEADER,
  );
const contentOf = (env: string, service: string, profile?: string): string =>
  configsOf(env, profile).find((config) => config.service === service)?.content ?? '';

const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

describe('nginx.conf', () => {
  it('lists every replica of a replicated service, whose host port is dropped', () => {
    const conf = contentOf('production', 'nginx');
    const servers = (upstream: string): string[] =>
      [
        ...(new RegExp(`upstream ${upstream} \\{([^}]*)\\}`).exec(conf)?.[1] ?? '').matchAll(
          /server (\S+) /g,
        ),
      ].map((match) => match[1] ?? '');
    expect(servers('multimodal-worker')).toEqual([
      'multimodal-production-multimodal-worker-1:8001',
      'multimodal-production-multimodal-worker-2:8001',
      'multimodal-production-multimodal-worker-3:8001',
    ]);
    expect(servers('retrieval-proxy')).toHaveLength(3);
    expect(servers('litellm')).toEqual([
      'multimodal-production-litellm-1:4000',
      'multimodal-production-litellm-2:4000',
    ]);
    // optimized runs two retrieval proxies, not three.
    expect(contentOf('optimized', 'nginx')).toContain('multimodal-optimized-retrieval-proxy-2:8002');
    expect(contentOf('optimized', 'nginx')).not.toContain('retrieval-proxy-3');
    expect(conf).toContain('location /worker/ {\n      proxy_pass http://multimodal-worker/;');
    expect(conf).toContain('location = /health {');
    // Only the routes of services the environment runs: optimized has no openwebui.
    expect(contentOf('optimized', 'nginx')).not.toContain('openwebui');
  });

  it('passes the real nginx -t for every environment that runs nginx', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stackctl-nginx-'));
    scratch.push(dir);
    for (const env of Object.keys(file.environments)) {
      const conf = contentOf(env, 'nginx');
      if (conf === '') continue;
      const path = join(dir, `${env}.conf`);
      await writeFile(path, conf);
      // nginx resolves upstream hosts when it loads: the replica names stand in as host entries.
      const hosts = [...conf.matchAll(/server ([a-z0-9-]+):\d+/g)].flatMap((m) => [
        '--add-host',
        `${m[1]}:127.0.0.1`,
      ]);
      const result = await runOneOff('stackctl-test/nginx:1', 'nginx -t', [
        ...hosts,
        '-v',
        `${path}:/etc/nginx/nginx.conf:ro`,
      ]);
      expect(result.stderr, env).toContain('test is successful');
      expect(result.exitCode, env).toBe(0);
    }
  }, 60_000);
});

describe('the LiteLLM config', () => {
  it('lists the vLLM model of the environment with its settings and GPU profile, keys by reference only', () => {
    const config = parse(contentOf('development', 'litellm', 'single')) as {
      model_list: {
        model_name: string;
        litellm_params: Record<string, unknown>;
        model_info: Record<string, unknown>;
      }[];
      general_settings: Record<string, string>;
    };
    expect(config.model_list).toEqual([
      {
        model_name: 'microsoft/DialoGPT-medium',
        litellm_params: {
          model: 'hosted_vllm/microsoft/DialoGPT-medium',
          api_base: 'http://multimodal-development-vllm-1:8000/v1',
          api_key: 'os.environ/VLLM_API_KEY',
          max_parallel_requests: Number(file.variables['VLLM_MAX_NUM_SEQS']?.default),
        },
        model_info: {
          max_input_tokens: Number(file.variables['VLLM_MAX_MODEL_LEN']?.default),
          gpu_profile: 'single',
          tensor_parallel_size: 1,
        },
      },
    ]);
    expect(config.general_settings).toEqual({
      master_key: 'os.environ/LITELLM_MASTER_KEY',
      database_url: 'os.environ/DATABASE_URL',
    });
    const multi = parse(contentOf('development', 'litellm', 'multi')) as typeof config;
    expect(multi.model_list[0]?.model_info['tensor_parallel_size']).toBe(2);
  });
});

describe('prometheus.yml and the ELK pipeline', () => {
  it('scrapes each service with metrics that the environment runs, on every replica', () => {
    const config = parse(contentOf('production', 'prometheus')) as {
      global: { external_labels: Record<string, string> };
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(config.global.external_labels).toEqual({ project: 'multimodal', environment: 'production' });
    expect(
      Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job.static_configs[0]?.targets])),
    ).toEqual({
      vllm: ['multimodal-production-vllm-1:8000'],
      prometheus: ['multimodal-production-prometheus-1:9090'],
      grafana: ['multimodal-production-grafana-1:3000'],
      'node-exporter': ['multimodal-production-node-exporter-1:9100'],
      cadvisor: ['multimodal-production-cadvisor-1:8080'],
      'dcgm-exporter': ['multimodal-production-dcgm-exporter-1:9400'],
      'postgres-exporter': ['multimodal-production-postgres-exporter-1:9187'],
      'redis-exporter': ['multimodal-production-redis-exporter-1:9121'],
    });
  });

  it('ships container logs from Filebeat through Logstash to Elasticsearch, tagged with the environment', () => {
    const pipeline = contentOf('monitoring', 'logstash');
    expect(pipeline).toContain('beats { port => 5044 }');
    expect(pipeline).toContain('hosts => ["http://multimodal-monitoring-elasticsearch-1:9200"]');
    expect(pipeline).toContain('index => "multimodal-monitoring-%{+YYYY.MM.dd}"');
    const filebeat = parse(contentOf('monitoring', 'filebeat')) as Record<string, unknown>;
    expect(filebeat['output.logstash']).toEqual({ hosts: ['multimodal-monitoring-logstash-1:5044'] });
  });

  it("keeps only the environment's log lines, by the labels json-file writes into them, and names service and stack", () => {
    const filebeat = parse(contentOf('monitoring', 'filebeat')) as {
      processors: { script?: { lang: string; source: string }; add_fields?: unknown }[];
    };
    const script = filebeat.processors.find((processor) => processor.script)?.script;
    expect(script?.lang).toBe('javascript');
    // Real json-file lines of two containers (this project's litellm, another project's web), as
    // Filebeat's docker parser hands them on: the attrs under docker.attrs, keys with their dots.
    const lines = readFileSync(join(HOST_FIXTURES, 'docker', 'json-file-attrs-01.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { log: string; attrs: Record<string, string> });
    const kept: Record<string, unknown>[] = [];
    for (const line of lines) {
      const fields: Record<string, unknown> = { message: line.log.trimEnd(), docker: { attrs: line.attrs } };
      let cancelled = false;
      const event = {
        Get: (key: string) =>
          key
            .split('.')
            .reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], fields),
        Put: (key: string, value: unknown) => (fields[key] = value),
        Delete: (key: string) =>
          delete (fields['docker'] as Record<string, unknown>)[key.split('.')[1] ?? ''],
        Cancel: () => (cancelled = true),
      };
      // Filebeat runs the script in its own JavaScript engine; here in a fresh V8 context.
      runInNewContext(`${script?.source ?? ''}\nprocess(event);`, { event });
      if (!cancelled) kept.push(fields);
    }
    expect(kept).toHaveLength(2);
    for (const message of ['INFO: started server on 0.0.0.0:4000', 'ERROR: cannot reach vllm'])
      expect(kept).toContainEqual({
        message,
        docker: {},
        'stackctl.service': 'litellm',
        'stackctl.stack': 'inference',
      });
    // Every service of the environment logs through json-file with those labels in its lines.
    const override = parse(
      renderEnvironmentOverride({ file, model: resolveEnvironment(file, 'monitoring'), header: HEADER }),
    ) as { services: Record<string, { logging?: unknown }> };
    for (const [name, service] of Object.entries(override.services))
      expect(service.logging, name).toEqual({
        driver: 'json-file',
        options: { labels: 'com.docker.compose.project,com.docker.compose.service,io.stackctl.stack' },
      });
    const staging = parse(
      renderEnvironmentOverride({ file, model: resolveEnvironment(file, 'staging'), header: HEADER }),
    ) as { services: Record<string, { logging?: unknown }> };
    expect(Object.values(staging.services).some((service) => service.logging !== undefined)).toBe(false);
  });
});

describe('generate and compose', () => {
  it('writes configs/<env>/ and compose mounts them over the base mounts; preflight names a missing one', async () => {
    const project = await shippedProject();
    scratch.push(project.root);
    const generated = await runCli(['generate', 'production'], { cwd: project.root });
    expect(generated.exitCode, generated.stderr).toBe(0);
    const config = await execa(
      'docker',
      [
        'compose',
        '-p',
        'x',
        '--project-directory',
        project.root,
        '--env-file',
        join(project.root, '.env.production'),
        ...['base', 'monitoring', 'gpu-multi', 'production.override'].flatMap((f) => [
          '-f',
          join(project.root, 'compose', `${f}.yml`),
        ]),
        'config',
        '--format',
        'json',
      ],
      { cwd: project.root },
    );
    const services = (
      JSON.parse(config.stdout) as {
        services: Record<
          string,
          {
            volumes?: { source: string; target: string; read_only?: boolean }[];
            networks?: Record<string, unknown>;
            depends_on?: Record<string, unknown>;
          }
        >;
      }
    ).services;
    expect(services['nginx']?.volumes).toEqual([
      expect.objectContaining({
        source: join(project.root, 'configs/production/nginx/nginx.conf'),
        target: '/etc/nginx/nginx.conf',
        read_only: true,
      }),
    ]);
    expect(services['litellm']?.volumes?.map((v) => v.source)).toEqual([
      join(project.root, 'configs/production/litellm/config.yaml'),
    ]);
    // nginx starts after every service it routes to; Prometheus joins the networks it scrapes.
    expect(Object.keys(services['nginx']?.depends_on ?? {})).toEqual(
      expect.arrayContaining(['openwebui', 'ai-agents', 'user-management', 'litellm']),
    );
    expect(Object.keys(services['prometheus']?.networks ?? {})).toEqual(
      expect.arrayContaining(['inference-net', 'monitoring-net']),
    );

    await rm(join(project.root, 'configs', 'production', 'nginx'), { recursive: true });
    const preflight = await runCli(['preflight', 'production', '--json'], {
      cwd: project.root,
      env: { PATH: process.env['PATH'] ?? '' },
    });
    const checks = (
      JSON.parse(preflight.stdout) as {
        checks: { id: string; status: string; message: string; fix: string }[];
      }
    ).checks;
    expect(checks.find((check) => check.id === 'paths.nginx')).toEqual({
      id: 'paths.nginx',
      status: 'fail',
      message:
        './configs/production/nginx/nginx.conf: the nginx config file stackctl generates for production is missing',
      fix: 'run `stackctl generate production`',
    });
  }, 60_000);
});

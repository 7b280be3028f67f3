// The config files an environment's services mount (nginx.conf, the LiteLLM model list,
// prometheus.yml, the ELK pipeline), rendered from the schema for one environment. Pure: the
// resolved environment in, file contents out. They carry no secret value: services read secrets
// from their environment (LiteLLM's os.environ/NAME), so these files are shareable.
import { Document } from 'yaml';
import { COMPOSE_LABELS, LABELS } from '../labels.js';
import { alertRules, DEFAULT_ALERT_FOR, exporterOf } from './prometheus-rules.js';
import { cadvisorRelabeling } from './cadvisor.js';
import {
  grafanaDashboardProvider,
  grafanaDatasources,
  overviewDashboard,
  type GrafanaUpstreams,
} from './grafana.js';
import type { EnvironmentModel, ResolvedService } from '../model/environment.js';
import { interpolate } from '../schema/interpolate.js';
import type { ConfigFileDef, ConfigGenerator, StackFile } from '../schema/types.js';
import { configFilePath } from '../model/config-paths.js';
import { BEATS_PORT } from '../schema/generated-ports.js';

export { CONFIGS_DIR, configFilePath } from '../model/config-paths.js';

/** The port Logstash's Beats input listens on, and the one Filebeat ships to. */
export { BEATS_PORT };

/** One generated config file of an environment, and where its service mounts it. */
export interface ConfigFile {
  readonly service: string;
  readonly generate: ConfigGenerator;
  /** Relative to the project root: configs/<env>/<service>/<name of the target>. */
  readonly path: string;
  /** Where the service mounts it (read-only). */
  readonly target: string;
  readonly content: string;
}

/** The containers compose names for a service's replicas: <project>-<service>-<n>. */
export function replicaHosts(model: EnvironmentModel, service: ResolvedService): string[] {
  const replicas = service.definition.deploy?.replicas ?? 1;
  return Array.from({ length: replicas }, (_, i) => `${model.project}-${service.name}-${i + 1}`);
}

/** Every config file the environment's services declare, rendered. */
export function renderConfigFiles(
  file: StackFile,
  model: EnvironmentModel,
  header: readonly string[],
): ConfigFile[] {
  const out: ConfigFile[] = [];
  for (const service of model.services) {
    for (const config of service.definition.configFiles ?? []) {
      out.push({
        service: service.name,
        generate: config.generate,
        path: configFilePath(model.name, service.name, config.target),
        target: config.target,
        content: withHeader(
          config.generate,
          header,
          RENDERERS[config.generate](file, model, config, service),
        ),
      });
    }
  }
  return out;
}

/**
 * The generated-file header as comments, first; JSON has no comments, so a dashboard carries it as
 * its description instead (Grafana shows it).
 */
function withHeader(generate: ConfigGenerator, header: readonly string[], body: string): string {
  if (generate !== 'grafana-dashboard') return `${header.join('\n')}\n${body}`;
  const dashboard = JSON.parse(body) as Record<string, unknown>;
  const description = header.map((line) => line.replace(/^#\s*/, '')).join(' ');
  return `${JSON.stringify({ ...dashboard, description }, null, 2)}\n`;
}

type Renderer = (
  file: StackFile,
  model: EnvironmentModel,
  config: ConfigFileDef,
  owner: ResolvedService,
) => string;

const RENDERERS: Record<ConfigGenerator, Renderer> = {
  nginx: renderNginx,
  litellm: renderLitellm,
  prometheus: renderPrometheus,
  'prometheus-rules': renderPrometheusRules,
  'grafana-datasources': (file, model) => yamlText(grafanaDatasources(grafanaUpstreams(file, model))),
  'grafana-dashboards': (_file, model) => yamlText(grafanaDashboardProvider(model)),
  'grafana-dashboard': (_file, model) => `${JSON.stringify(overviewDashboard(model), null, 2)}\n`,
  logstash: renderLogstash,
  filebeat: renderFilebeat,
};

/** The services of the environment nginx routes to, in the schema's order. */
export function routedServices(model: EnvironmentModel): ResolvedService[] {
  return model.services.filter((service) => service.definition.route !== undefined);
}

/** The services of the environment Prometheus scrapes. */
export function scrapedServices(model: EnvironmentModel): ResolvedService[] {
  return model.services.filter((service) => service.definition.metrics !== undefined);
}

/**
 * nginx.conf: an upstream per routed service listing each of its replicas (a replicated service
 * has no host port, so this is how it is reached), a location per route with the prefix stripped,
 * streaming and WebSockets passed through, and /health for the container's healthcheck.
 */
function renderNginx(_file: StackFile, model: EnvironmentModel): string {
  const routed = routedServices(model);
  const lines = [
    `# nginx for ${model.name}: ${routed.length === 0 ? 'no routed service' : routed.map((s) => `${s.definition.route?.path} -> ${s.name}`).join(', ')}.`,
    'worker_processes auto;',
    'error_log /dev/stderr warn;',
    'pid /tmp/nginx.pid;',
    '',
    'events {',
    '  worker_connections 1024;',
    '}',
    '',
    'http {',
    '  access_log /dev/stdout;',
    '  default_type application/octet-stream;',
    '  sendfile on;',
    '  keepalive_timeout 65s;',
    '  server_tokens off;',
    '  # Uploads to the multimodal worker (images, audio, documents).',
    '  client_max_body_size 100m;',
    '',
    '  # Keep-alive to upstreams, unless the client asks for a WebSocket upgrade.',
    '  map $http_upgrade $connection_upgrade {',
    '    default upgrade;',
    "    '' '';",
    '  }',
  ];
  for (const service of routed) {
    const route = service.definition.route;
    if (!route) continue;
    lines.push('', `  upstream ${service.name} {`);
    for (const host of replicaHosts(model, service))
      lines.push(`    server ${host}:${route.port} max_fails=3 fail_timeout=10s;`);
    lines.push('    keepalive 16;', '  }');
  }
  lines.push(
    '',
    '  server {',
    '    listen 80 default_server;',
    '',
    '    location = /health {',
    '      access_log off;',
    '      default_type text/plain;',
    '      return 200 "ok\\n";',
    '    }',
  );
  for (const service of routed) {
    const route = service.definition.route;
    if (!route) continue;
    lines.push(
      '',
      `    location ${route.path} {`,
      `      proxy_pass http://${service.name}/;`,
      '      proxy_http_version 1.1;',
      '      proxy_set_header Host $host;',
      '      proxy_set_header X-Real-IP $remote_addr;',
      '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '      proxy_set_header X-Forwarded-Proto $scheme;',
      `      proxy_set_header X-Forwarded-Prefix ${route.path.replace(/\/$/, '') || '/'};`,
      ...(route.websocket === true
        ? [
            '      proxy_set_header Upgrade $http_upgrade;',
            '      proxy_set_header Connection $connection_upgrade;',
          ]
        : ['      proxy_set_header Connection "";']),
      '      # Model responses stream (server-sent events) and can take minutes.',
      '      proxy_buffering off;',
      '      proxy_read_timeout 600s;',
      '      proxy_next_upstream error timeout http_502 http_503;',
      '    }',
    );
  }
  lines.push('  }', '}', '');
  return lines.join('\n');
}

/** The value of a command-line flag (`--flag value` or `--flag=value`) in a service's command. */
function flagValue(model: EnvironmentModel, service: ResolvedService, flag: string): string | undefined {
  const command = service.definition.command;
  const args = typeof command === 'string' ? command.split(/\s+/) : (command ?? []);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const value =
      arg === flag ? args[i + 1] : arg.startsWith(`${flag}=`) ? arg.slice(flag.length + 1) : undefined;
    if (value !== undefined) return interpolate(value, model.values).value;
  }
  return undefined;
}

function environmentHas(service: ResolvedService, name: string): boolean {
  return Object.hasOwn(service.definition.environment ?? {}, name);
}

function serviceNamed(model: EnvironmentModel, name: string | undefined): ResolvedService | undefined {
  return model.services.find((service) => service.name === name);
}

/**
 * LiteLLM's config: one deployment per replica of the model server (LiteLLM balances across
 * them), named as the server serves the model, with its context length, parallelism and the GPU
 * profile it runs with. Keys are read from the environment (os.environ/NAME), never written here.
 */
function renderLitellm(
  _file: StackFile,
  model: EnvironmentModel,
  config: ConfigFileDef,
  gateway: ResolvedService,
): string {
  const server = serviceNamed(model, config.upstream?.service);
  const modelList: unknown[] = [];
  if (server && config.upstream) {
    const served = flagValue(model, server, '--served-model-name') ?? flagValue(model, server, '--model');
    const maxModelLen = numberOrUndefined(flagValue(model, server, '--max-model-len'));
    const maxNumSeqs = numberOrUndefined(flagValue(model, server, '--max-num-seqs'));
    const tensorParallel = numberOrUndefined(flagValue(model, server, '--tensor-parallel-size'));
    for (const host of replicaHosts(model, server)) {
      modelList.push({
        model_name: served ?? server.name,
        litellm_params: {
          model: `hosted_vllm/${served ?? server.name}`,
          api_base: `http://${host}:${config.upstream.port}/v1`,
          ...(environmentHas(gateway, 'VLLM_API_KEY') ? { api_key: 'os.environ/VLLM_API_KEY' } : {}),
          ...(maxNumSeqs === undefined ? {} : { max_parallel_requests: maxNumSeqs }),
        },
        model_info: {
          ...(maxModelLen === undefined ? {} : { max_input_tokens: maxModelLen }),
          gpu_profile: model.gpu.profile,
          ...(tensorParallel === undefined ? {} : { tensor_parallel_size: tensorParallel }),
        },
      });
    }
  }
  const general: Record<string, string> = {};
  if (environmentHas(gateway, 'LITELLM_MASTER_KEY')) general['master_key'] = 'os.environ/LITELLM_MASTER_KEY';
  if (environmentHas(gateway, 'DATABASE_URL')) general['database_url'] = 'os.environ/DATABASE_URL';
  const note = server
    ? `# LiteLLM for ${model.name}: ${modelList.length} deployment(s) of ${server.name}, GPU profile ${model.gpu.profile}.`
    : `# LiteLLM for ${model.name}: ${config.upstream?.service ?? 'the model server'} is not in this environment, so no model is listed.`;
  return `${note}\n${yamlText({
    model_list: modelList,
    litellm_settings: { drop_params: true, num_retries: 2, request_timeout: 600 },
    router_settings: { routing_strategy: 'simple-shuffle' },
    ...(Object.keys(general).length > 0 ? { general_settings: general } : {}),
  })}`;
}

function numberOrUndefined(text: string | undefined): number | undefined {
  const value = Number(text);
  return text === undefined || text === '' || !Number.isFinite(value) ? undefined : value;
}

/** prometheus.yml: a scrape job per service with metrics, a target per replica; its rule files. */
function renderPrometheus(
  file: StackFile,
  model: EnvironmentModel,
  _config: ConfigFileDef,
  owner: ResolvedService,
): string {
  const jobs = scrapedServices(model).map((service) => ({
    job_name: service.name,
    metrics_path: service.definition.metrics?.path ?? '/metrics',
    static_configs: [
      {
        targets: replicaHosts(model, service).map((host) => `${host}:${service.definition.metrics?.port}`),
        labels: { service: service.name, stack: service.stack },
      },
    ],
    ...(exporterOf(service) === 'cadvisor'
      ? { metric_relabel_configs: cadvisorRelabeling(model.project) }
      : {}),
  }));
  const interval = model.values.get('PROMETHEUS_SCRAPE_INTERVAL') ?? '15s';
  const ruleFiles = (owner.definition.configFiles ?? [])
    .filter((config) => config.generate === 'prometheus-rules')
    .map((config) => config.target);
  return `# Prometheus for ${model.name}: ${jobs.length} scrape job(s).\n${yamlText({
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      external_labels: { project: file.project.name, environment: model.name },
    },
    ...(ruleFiles.length > 0 ? { rule_files: ruleFiles } : {}),
    scrape_configs: jobs,
  })}`;
}

/** Alert rules for what the environment's exporters expose (generate/prometheus-rules.ts). */
function renderPrometheusRules(_file: StackFile, model: EnvironmentModel): string {
  const groups = alertRules(model, model.values.get('PROMETHEUS_ALERT_FOR') ?? DEFAULT_ALERT_FOR);
  const count = groups.reduce((sum, group) => sum + group.rules.length, 0);
  return `# Alert rules for ${model.name}: ${count} rule(s); route them with an Alertmanager of your own.\n${yamlText(
    {
      groups: groups.map((group) => ({ name: group.name, rules: group.rules })),
    },
  )}`;
}

/** What Grafana's datasources point at: the environment's Prometheus and Logstash's Elasticsearch. */
function grafanaUpstreams(file: StackFile, model: EnvironmentModel): GrafanaUpstreams {
  const prometheus = model.services.find((service) =>
    (service.definition.configFiles ?? []).some((config) => config.generate === 'prometheus'),
  );
  const logstash = model.services
    .flatMap((service) => service.definition.configFiles ?? [])
    .find((config) => config.generate === 'logstash')?.upstream;
  const store = serviceNamed(model, logstash?.service);
  const [promHost] = prometheus ? replicaHosts(model, prometheus) : [];
  const [storeHost] = store ? replicaHosts(model, store) : [];
  return {
    prometheus:
      promHost === undefined
        ? undefined
        : `http://${promHost}:${String(prometheus?.definition.metrics?.port ?? 9090)}`,
    elasticsearch:
      storeHost === undefined || logstash === undefined
        ? undefined
        : {
            url: `http://${storeHost}:${String(logstash.port)}`,
            indexPrefix: `${file.project.name}-${model.name}`,
          },
  };
}

/** Logstash's pipeline: Beats in, each event tagged with the environment, Elasticsearch out. */
function renderLogstash(file: StackFile, model: EnvironmentModel, config: ConfigFileDef): string {
  const upstream = config.upstream;
  const store = serviceNamed(model, upstream?.service);
  const hosts =
    store && upstream ? replicaHosts(model, store).map((host) => `"http://${host}:${upstream.port}"`) : [];
  const index = `${file.project.name}-${model.name}-%{+YYYY.MM.dd}`;
  return [
    `# Logstash for ${model.name}: Beats on ${BEATS_PORT} to ${upstream?.service ?? 'Elasticsearch'}, index ${index}.`,
    'input {',
    `  beats { port => ${BEATS_PORT} }`,
    '}',
    '',
    'filter {',
    '  mutate {',
    `    add_field => { "[stackctl][project]" => "${file.project.name}" "[stackctl][environment]" => "${model.name}" }`,
    '  }',
    '}',
    '',
    'output {',
    ...(hosts.length > 0
      ? ['  elasticsearch {', `    hosts => [${hosts.join(', ')}]`, `    index => "${index}"`, '  }']
      : [
          `  # ${upstream?.service ?? 'Elasticsearch'} is not in this environment: events go to the container's output.`,
          '  stdout { codec => rubydebug }',
        ]),
    '}',
    '',
  ].join('\n');
}

/** Filebeat: the host's container log files (read-only) to Logstash, tagged with the environment. */
/**
 * The labels Docker's json-file driver writes into each log line's `attrs` in an environment that
 * runs Filebeat (its compose override sets the log option): Filebeat keeps this project's lines by
 * them and names each line's service and stack, with no Docker socket to ask.
 */
export const LOG_ATTRIBUTE_LABELS = [COMPOSE_LABELS.project, COMPOSE_LABELS.service, LABELS.stack] as const;

/** Whether the environment runs a Filebeat whose config stackctl generates. */
export function shipsLogs(model: EnvironmentModel): boolean {
  return model.services.some((service) =>
    (service.definition.configFiles ?? []).some((config) => config.generate === 'filebeat'),
  );
}

/** Filebeat's script: drops the lines of other projects' containers, names service and stack. */
export function filebeatScript(project: string): string {
  return [
    'function process(event) {',
    '  var attrs = event.Get("docker.attrs") || {};',
    `  if (attrs["${COMPOSE_LABELS.project}"] !== ${JSON.stringify(project)}) {`,
    '    event.Cancel();',
    '    return;',
    '  }',
    `  event.Put("stackctl.service", attrs["${COMPOSE_LABELS.service}"] || "");`,
    `  event.Put("stackctl.stack", attrs["${LABELS.stack}"] || "");`,
    '  event.Delete("docker.attrs");',
    '}',
  ].join('\n');
}

/**
 * filebeat.yml: the host's container log files (read-only; no Docker socket), only the lines of
 * this environment's containers kept (by the labels json-file writes into each line), each named
 * with its project, environment, stack and service, to the `upstream` (Logstash, port 5044).
 */
function renderFilebeat(file: StackFile, model: EnvironmentModel, config: ConfigFileDef): string {
  const upstream = config.upstream;
  const shipper = serviceNamed(model, upstream?.service);
  return `# Filebeat for ${model.name}: the logs of its containers (by label) to ${upstream?.service ?? 'Logstash'}.\n${yamlText(
    {
      'filebeat.inputs': [
        {
          type: 'filestream',
          id: 'docker-containers',
          paths: ['/var/lib/docker/containers/*/*.log'],
          parsers: [{ container: { stream: 'all', format: 'docker' } }],
        },
      ],
      processors: [
        {
          add_fields: { target: 'stackctl', fields: { project: file.project.name, environment: model.name } },
        },
        { script: { lang: 'javascript', id: 'stackctl-project', source: filebeatScript(model.project) } },
      ],
      ...(shipper && upstream
        ? {
            'output.logstash': {
              hosts: replicaHosts(model, shipper).map((host) => `${host}:${upstream.port}`),
            },
          }
        : { 'output.console': { pretty: false } }),
    },
  )}`;
}

function yamlText(content: unknown): string {
  return new Document(content, { aliasDuplicateObjects: false }).toString({ lineWidth: 0 });
}

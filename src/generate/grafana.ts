// Grafana provisioning for one environment: its datasources (the environment's Prometheus, and its
// Elasticsearch when it runs one), a dashboards provider, and a stack overview dashboard whose
// panels exist only for the exporters the environment scrapes (metrics.exporter), so every query
// names a metric that is really there. Pure; Grafana reads these at start (its provisioning docs:
// https://grafana.com/docs/grafana/latest/administration/provisioning/).
import type { EnvironmentModel, ResolvedService } from '../model/environment.js';
import type { MetricsExporter } from '../schema/types.js';
import { CONTAINER_SERVICE_LABEL } from './cadvisor.js';
import { EXPORTER_ORDER, exporterOf } from './prometheus-rules.js';

/** cAdvisor's series of this environment's containers (prometheus.yml keeps and names them). */
const BY_SERVICE = `${CONTAINER_SERVICE_LABEL}!=""`;

/** Where the provider tells Grafana to read dashboards: the folder the dashboard files are mounted in. */
export const DASHBOARDS_FOLDER = '/etc/grafana/dashboards';

export const PROMETHEUS_UID = 'stackctl-prometheus';
export const ELASTICSEARCH_UID = 'stackctl-elasticsearch';

export interface GrafanaUpstreams {
  /** The environment's Prometheus (http://host:port), if it runs one. */
  readonly prometheus: string | undefined;
  /** Its Elasticsearch, if it runs one, and the prefix of the indices Logstash writes. */
  readonly elasticsearch: { readonly url: string; readonly indexPrefix: string } | undefined;
}

/** datasources.yml: apiVersion 1, the environment's Prometheus (default) and Elasticsearch. */
export function grafanaDatasources(upstreams: GrafanaUpstreams): unknown {
  const datasources: unknown[] = [];
  if (upstreams.prometheus !== undefined)
    datasources.push({
      name: 'Prometheus',
      uid: PROMETHEUS_UID,
      type: 'prometheus',
      access: 'proxy',
      url: upstreams.prometheus,
      isDefault: true,
      editable: false,
    });
  if (upstreams.elasticsearch !== undefined)
    datasources.push({
      name: 'Elasticsearch (logs)',
      uid: ELASTICSEARCH_UID,
      type: 'elasticsearch',
      access: 'proxy',
      url: upstreams.elasticsearch.url,
      editable: false,
      // The indices Logstash writes (config-files.ts renderLogstash): <project>-<env>-YYYY.MM.dd.
      jsonData: { index: `${upstreams.elasticsearch.indexPrefix}-*`, timeField: '@timestamp' },
    });
  return { apiVersion: 1, datasources };
}

/** dashboards.yml: one file provider reading the mounted dashboard files. */
export function grafanaDashboardProvider(model: EnvironmentModel): unknown {
  return {
    apiVersion: 1,
    providers: [
      {
        name: `stackctl-${model.name}`,
        folder: `stackctl ${model.name}`,
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: DASHBOARDS_FOLDER },
      },
    ],
  };
}

interface Panel {
  readonly title: string;
  readonly expr: string;
  readonly unit: string;
  readonly legend: string;
}

/** The panels for each exporter kind; ones the environment does not scrape are left out. */
const PANELS: Partial<Record<MetricsExporter | 'all', readonly Panel[]>> = {
  all: [{ title: 'Targets up', expr: 'up', unit: 'none', legend: '{{service}} {{instance}}' }],
  node: [
    {
      title: 'Host CPU busy',
      expr: '1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m]))',
      unit: 'percentunit',
      legend: 'busy',
    },
    {
      title: 'Host memory available',
      expr: 'node_memory_MemAvailable_bytes',
      unit: 'bytes',
      legend: 'available',
    },
    {
      title: 'Disk space free',
      expr: 'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"}',
      unit: 'percentunit',
      legend: '{{mountpoint}}',
    },
    {
      title: 'Network received',
      expr: 'rate(node_network_receive_bytes_total{device!="lo"}[5m])',
      unit: 'Bps',
      legend: '{{device}}',
    },
  ],
  cadvisor: [
    {
      title: 'Container restarts (15 min)',
      expr: `resets(container_cpu_usage_seconds_total{${BY_SERVICE}}[15m])`,
      unit: 'none',
      legend: `{{${CONTAINER_SERVICE_LABEL}}} {{name}}`,
    },
    {
      title: 'Container CPU (cores)',
      expr: `sum by (${CONTAINER_SERVICE_LABEL}) (rate(container_cpu_usage_seconds_total{${BY_SERVICE}}[5m]))`,
      unit: 'none',
      legend: `{{${CONTAINER_SERVICE_LABEL}}}`,
    },
    {
      title: 'Container memory (working set)',
      expr: `sum by (${CONTAINER_SERVICE_LABEL}) (container_memory_working_set_bytes{${BY_SERVICE}})`,
      unit: 'bytes',
      legend: `{{${CONTAINER_SERVICE_LABEL}}}`,
    },
    {
      title: 'Container network received',
      expr: `sum by (${CONTAINER_SERVICE_LABEL}) (rate(container_network_receive_bytes_total{${BY_SERVICE}}[5m]))`,
      unit: 'Bps',
      legend: `{{${CONTAINER_SERVICE_LABEL}}}`,
    },
    {
      title: 'Container network sent',
      expr: `sum by (${CONTAINER_SERVICE_LABEL}) (rate(container_network_transmit_bytes_total{${BY_SERVICE}}[5m]))`,
      unit: 'Bps',
      legend: `{{${CONTAINER_SERVICE_LABEL}}}`,
    },
    {
      title: 'Container disk read',
      expr: `sum by (${CONTAINER_SERVICE_LABEL}) (rate(container_fs_reads_bytes_total{${BY_SERVICE}}[5m]))`,
      unit: 'Bps',
      legend: `{{${CONTAINER_SERVICE_LABEL}}}`,
    },
    {
      title: 'Container disk written',
      expr: `sum by (${CONTAINER_SERVICE_LABEL}) (rate(container_fs_writes_bytes_total{${BY_SERVICE}}[5m]))`,
      unit: 'Bps',
      legend: `{{${CONTAINER_SERVICE_LABEL}}}`,
    },
  ],
  postgres: [
    { title: 'PostgreSQL up', expr: 'pg_up', unit: 'none', legend: '{{instance}}' },
    {
      title: 'PostgreSQL connections',
      expr: 'sum(pg_stat_activity_count)',
      unit: 'none',
      legend: 'connections',
    },
  ],
  redis: [
    { title: 'Redis up', expr: 'redis_up', unit: 'none', legend: '{{instance}}' },
    { title: 'Redis memory used', expr: 'redis_memory_used_bytes', unit: 'bytes', legend: 'used' },
    { title: 'Redis clients', expr: 'redis_connected_clients', unit: 'none', legend: 'clients' },
  ],
  dcgm: [
    { title: 'GPU utilisation', expr: 'DCGM_FI_DEV_GPU_UTIL', unit: 'percent', legend: 'GPU {{gpu}}' },
    {
      title: 'GPU memory used',
      expr: 'DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)',
      unit: 'percentunit',
      legend: 'GPU {{gpu}}',
    },
    { title: 'GPU temperature', expr: 'DCGM_FI_DEV_GPU_TEMP', unit: 'celsius', legend: 'GPU {{gpu}}' },
    { title: 'GPU power', expr: 'DCGM_FI_DEV_POWER_USAGE', unit: 'watt', legend: 'GPU {{gpu}}' },
    {
      title: 'NVLink traffic',
      expr: 'rate(DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL[5m])',
      unit: 'none',
      legend: 'GPU {{gpu}}',
    },
  ],
  vllm: [
    {
      title: 'vLLM requests running and waiting',
      expr: 'vllm:num_requests_running or vllm:num_requests_waiting',
      unit: 'none',
      legend: '{{__name__}}',
    },
    {
      title: 'vLLM generated tokens per second',
      expr: 'rate(vllm:generation_tokens_total[1m])',
      unit: 'none',
      legend: '{{model_name}}',
    },
    {
      title: 'vLLM time to first token (p95)',
      expr: 'histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))',
      unit: 's',
      legend: 'p95',
    },
    {
      title: 'vLLM KV cache used',
      expr: 'vllm:kv_cache_usage_perc or vllm:gpu_cache_usage_perc',
      unit: 'percentunit',
      legend: '{{model_name}}',
    },
  ],
};

/** The panels of the environment's overview, for the exporters it scrapes. */
export function overviewPanels(model: EnvironmentModel): Panel[] {
  const kinds = new Set(
    model.services
      .filter((service: ResolvedService) => service.definition.metrics !== undefined)
      .map(exporterOf),
  );
  if (kinds.size === 0) return [];
  return [
    ...(PANELS.all ?? []),
    ...EXPORTER_ORDER.flatMap((kind) => (kinds.has(kind) ? (PANELS[kind] ?? []) : [])),
  ];
}

/** The overview dashboard (Grafana's dashboard JSON model), a time series panel per query. */
export function overviewDashboard(model: EnvironmentModel): unknown {
  const panels = overviewPanels(model).map((panel, i) => ({
    id: i + 1,
    type: 'timeseries',
    title: panel.title,
    datasource: { type: 'prometheus', uid: PROMETHEUS_UID },
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
    targets: [
      { refId: 'A', expr: panel.expr, legendFormat: panel.legend, datasource: { uid: PROMETHEUS_UID } },
    ],
  }));
  return {
    uid: `stackctl-${model.name}-overview`.slice(0, 40),
    title: `${model.name}: stack overview`,
    tags: ['stackctl', model.name],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    panels,
  };
}

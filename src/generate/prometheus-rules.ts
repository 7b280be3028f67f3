// Prometheus alert rules for one environment, from what its scraped services expose (their
// `metrics.exporter`): a rule queries only metrics an exporter of the environment really exports,
// so no alert silently never fires. Alertmanager routing is left to the user's receiver. Pure.
import type { EnvironmentModel, ResolvedService } from '../model/environment.js';
import type { MetricsExporter } from '../schema/types.js';
import { CONTAINER_SERVICE_LABEL } from './cadvisor.js';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: 'critical' | 'warning' };
  readonly annotations: { readonly summary: string; readonly description: string };
}

/**
 * The node exporter's flag that makes it read *.prom files from a folder: with it, stackctl's own
 * metrics (secret rotation dates, backups) reach Prometheus and the state rules are generated.
 */
export const TEXTFILE_FLAG = '--collector.textfile.directory';

/** Whether a service's command turns on the node exporter's textfile collector. */
export function readsTextfiles(service: ResolvedService): boolean {
  const command = service.definition.command;
  const args = typeof command === 'string' ? command.split(/\s+/) : (command ?? []);
  return args.some((arg) => arg === TEXTFILE_FLAG || arg.startsWith(`${TEXTFILE_FLAG}=`));
}

/** The exporter kinds with rules and panels of their own, in the order they are written. */
export const EXPORTER_ORDER = ['node', 'cadvisor', 'postgres', 'redis', 'dcgm', 'vllm'] as const;

/** How long a condition must hold before its alert fires, unless PROMETHEUS_ALERT_FOR says. */
export const DEFAULT_ALERT_FOR = '2m';

/** The exporter kind of a scraped service (generic when not said). */
export function exporterOf(service: ResolvedService): MetricsExporter {
  return service.definition.metrics?.exporter ?? 'generic';
}

/** The rules for the exporters the environment scrapes, grouped as Prometheus rule groups. */
export function alertRules(
  model: EnvironmentModel,
  alertFor: string,
): { name: string; rules: AlertRule[] }[] {
  const scraped = model.services.filter((service) => service.definition.metrics !== undefined);
  const kinds = new Set(scraped.map(exporterOf));
  const rule = (
    alert: string,
    expr: string,
    severity: AlertRule['labels']['severity'],
    summary: string,
    description: string,
  ): AlertRule => ({
    alert,
    expr,
    for: alertFor,
    labels: { severity },
    annotations: { summary, description },
  });
  const groups: { name: string; rules: AlertRule[] }[] = [];
  if (scraped.length > 0)
    groups.push({
      name: 'stackctl-services',
      rules: [
        rule(
          'ServiceDown',
          'up == 0',
          'critical',
          '{{ $labels.service }} is down ({{ $labels.instance }})',
          `Prometheus cannot scrape {{ $labels.instance }} of {{ $labels.service }} in ${model.name}: stopped, crashed or unreachable.`,
        ),
      ],
    });
  const byKind: Partial<Record<MetricsExporter, AlertRule[]>> = {
    node: [
      rule(
        'DiskNearlyFull',
        'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"} < 0.10',
        'warning',
        '{{ $labels.mountpoint }} is over 90% full',
        'Less than 10% of {{ $labels.mountpoint }} is free: volumes, images and backups will fail to write.',
      ),
      rule(
        'HostMemoryLow',
        'node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.05',
        'warning',
        'less than 5% of the host memory is available',
        'The kernel will start killing containers (OOM).',
      ),
    ],
    cadvisor: [
      // Each start of a container is a new cgroup, whose CPU counter begins at 0 again: a restart is
      // a counter reset (cAdvisor's container_start_time_seconds is the creation time, unchanged).
      rule(
        'ContainerCrashLooping',
        `resets(container_cpu_usage_seconds_total{${CONTAINER_SERVICE_LABEL}!=""}[15m]) > 2`,
        'critical',
        `{{ $labels.${CONTAINER_SERVICE_LABEL} }} restarted {{ $value }} times in 15 minutes`,
        `{{ $labels.name }} keeps exiting and being restarted: stackctl logs ${model.name} {{ $labels.${CONTAINER_SERVICE_LABEL} }}.`,
      ),
      rule(
        'ContainerMemoryNearLimit',
        `container_memory_working_set_bytes{${CONTAINER_SERVICE_LABEL}!=""} / (container_spec_memory_limit_bytes{${CONTAINER_SERVICE_LABEL}!=""} > 0) > 0.95`,
        'warning',
        `{{ $labels.${CONTAINER_SERVICE_LABEL} }} uses over 95% of its memory limit`,
        'The kernel kills it (OOM) when it reaches the limit: raise deploy.resources.limits.memory or find the leak.',
      ),
    ],
    postgres: [
      rule(
        'PostgresDown',
        'pg_up == 0',
        'critical',
        'PostgreSQL does not answer its exporter',
        'pg_up is 0.',
      ),
    ],
    redis: [
      rule('RedisDown', 'redis_up == 0', 'critical', 'Redis does not answer its exporter', 'redis_up is 0.'),
    ],
    dcgm: [
      rule(
        'GpuTemperatureHigh',
        'DCGM_FI_DEV_GPU_TEMP > 85',
        'warning',
        'GPU {{ $labels.gpu }} is at {{ $value }} °C',
        'Above 85 °C the card throttles its clocks.',
      ),
      rule(
        'GpuMemoryNearlyFull',
        'DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 0.98',
        'warning',
        'GPU {{ $labels.gpu }} memory is over 98% used',
        'A new model or a longer context will not fit.',
      ),
    ],
    vllm: [
      rule(
        'VllmKvCacheSaturated',
        '(vllm:kv_cache_usage_perc or vllm:gpu_cache_usage_perc) > 0.95',
        'warning',
        "vLLM's KV cache is over 95% used",
        'Requests wait or are preempted: lower max-num-seqs, shorten the context, or add GPUs.',
      ),
      rule(
        'VllmRequestsQueued',
        'vllm:num_requests_waiting > 10',
        'warning',
        '{{ $value }} requests are waiting for vLLM',
        'More requests arrive than the model server can batch.',
      ),
    ],
  };
  for (const kind of EXPORTER_ORDER) {
    const rules = byKind[kind];
    if (kinds.has(kind) && rules) groups.push({ name: `stackctl-${kind}`, rules });
  }
  // stackctl's own metrics (.stackctl/metrics/<env>.prom), through a node exporter that reads them.
  if (scraped.some((service) => exporterOf(service) === 'node' && readsTextfiles(service)))
    groups.push({ name: 'stackctl-state', rules: stateRules(model.name, rule) });
  return groups;
}

type RuleOf = (
  alert: string,
  expr: string,
  severity: AlertRule['labels']['severity'],
  summary: string,
  description: string,
) => AlertRule;

/** Alerts on what only stackctl knows: a secret past its rotation date, a backup past its schedule. */
function stateRules(environment: string, rule: RuleOf): AlertRule[] {
  return [
    rule(
      'SecretRotationDue',
      `time() > stackctl_secret_rotation_due_timestamp_seconds{environment="${environment}"}`,
      'warning',
      '{{ $labels.name }} of {{ $labels.environment }} is due for rotation',
      `Its secret type's rotationDays have passed: stackctl secrets rotate ${environment} --due.`,
    ),
    rule(
      'BackupOverdue',
      `time() > stackctl_backup_due_timestamp_seconds{environment="${environment}"}`,
      'warning',
      'the last backup of {{ $labels.service }} in {{ $labels.environment }} is older than its schedule allows',
      `No sound backup since the schedule's interval and half of it again: run stackctl backup ${environment}, and check its scheduled job (stackctl schedule install ${environment}).`,
    ),
  ];
}

/** Every metric name the rules query (for checking them against what exporters really print). */
export function metricNamesOf(expr: string): string[] {
  const names = new Set<string>();
  const withoutStrings = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\[[^\]]*\]/g, '')
    // Grouping clauses name labels, not metrics: sum by (le) (...).
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  for (const match of withoutStrings.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const after = withoutStrings.slice((match.index ?? 0) + word.length).trimStart();
    if (['or', 'and', 'unless', 'by', 'without', 'on', 'ignoring'].includes(word) || after.startsWith('('))
      continue;
    // A label matcher (name="...", name=~"...", name!="...", name!~"..."), strings emptied above.
    if (/^(=~?|!=|!~)\s*""/.test(after)) continue;
    names.add(word);
  }
  return [...names];
}

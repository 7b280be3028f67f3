// The monitoring files stackctl generates, run for real: Prometheus (Debian's package) loads the
// generated prometheus.yml and alert rules (promtool checks both), scrapes a real node exporter
// (Debian's prometheus-node-exporter), and fires ServiceDown when the exporter is stopped.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { fakeNvidiaSmiEnv } from '../helpers/fake-nvidia-smi.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { stackProject, type StackProject } from '../helpers/stack-project.js';
import { runOneOff } from '../helpers/one-off.js';

let project: StackProject;
const ENV = 'watched';

function container(service: string): string {
  return `${project.name}-${ENV}-${service}-1`;
}

async function prometheusApi<T>(path: string): Promise<T> {
  const address = (
    await execa('docker', [
      'inspect',
      '-f',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}',
      container('prometheus'),
    ])
  ).stdout
    .trim()
    .split(' ')[0];
  const response = await fetch(`http://${address ?? ''}:9090${path}`);
  return ((await response.json()) as { data: T }).data;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * A /metrics page in the shape cAdvisor writes with --store_container_labels=false and the compose
 * labels kept (docs/storage/prometheus.md of google/cadvisor): made here, not captured.
 */
function cadvisorPage(projectName: string): string {
  const labels = (project: string, service: string, stack: string): string =>
    `container_label_com_docker_compose_project="${project}",container_label_com_docker_compose_service="${service}",container_label_io_stackctl_stack="${stack}",id="/docker/0123",image="img",name="${project}-${service}-1"`;
  return [
    '# HELP container_memory_working_set_bytes Current working set in bytes.',
    '# TYPE container_memory_working_set_bytes gauge',
    'container_memory_working_set_bytes{id="/"} 9.9e+09',
    `container_memory_working_set_bytes{${labels(`${projectName}-${ENV}`, 'db', 'data')}} 1.2e+07`,
    `container_memory_working_set_bytes{${labels('someone-else', 'db', 'data')}} 3.4e+07`,
    '',
  ].join('\n');
}

beforeAll(async () => {
  project = await stackProject(254, (schema) =>
    schema
      .replace('variables:\n', () =>
        [
          'variables:',
          '  PROMETHEUS_SCRAPE_INTERVAL: { type: string, description: How often Prometheus scrapes, default: 1s }',
          '  PROMETHEUS_ALERT_FOR: { type: string, description: How long before an alert fires, default: 2s }',
          '',
        ].join('\n'),
      )
      .replace('environments:\n', () =>
        [
          '  prometheus:',
          '    stack: side',
          '    image: stackctl-test/prometheus:1',
          "    command: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus']",
          '    metrics: { port: 9090, exporter: prometheus }',
          '    configFiles:',
          '      - { generate: prometheus, target: /etc/prometheus/prometheus.yml }',
          '      - { generate: prometheus-rules, target: /etc/prometheus/rules/stackctl.yml }',
          '  node-exporter:',
          '    stack: side',
          '    image: stackctl-test/exporters:1',
          "    command: ['prometheus-node-exporter', '--collector.textfile.directory=/stackctl-metrics']",
          "    volumes: ['./.stackctl/metrics:/stackctl-metrics:ro']",
          '    metrics: { port: 9100, exporter: node }',
          // A page in cAdvisor's shape (written below, not a capture), served as cAdvisor would.
          '  cadvisor:',
          '    stack: side',
          '    image: stackctl-test/busybox:1',
          "    command: ['httpd', '-f', '-p', '8080', '-h', '/www']",
          "    volumes: ['./cadvisor-page:/www:ro']",
          '    metrics: { port: 8080, exporter: cadvisor }',
          'environments:',
          '  watched:',
          '    description: Prometheus and a node exporter',
          '    gpu: { required: false, profile: cpu }',
          '    memoryMinimumGb: 0.1',
          '    diskMinimumGb: 0.1',
          '    addressPool: 10.254.208.0/20',
          '    services: [db, prometheus, node-exporter, cadvisor]',
          '',
        ].join('\n'),
      ),
  );
  await mkdir(join(project.root, 'cadvisor-page'));
  await writeFile(join(project.root, 'cadvisor-page', 'metrics'), cadvisorPage(project.name));
  const started = await runCli(['start', ENV, '--skip-preflight'], { cwd: project.root });
  expect(started.exitCode, started.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await project.remove();
});

describe('generated Prometheus configuration', () => {
  it('passes promtool: the config and the alert rules it loads', async () => {
    const config = await execa(
      'docker',
      ['exec', container('prometheus'), 'promtool', 'check', 'config', '/etc/prometheus/prometheus.yml'],
      { reject: false },
    );
    expect(config.exitCode, config.stdout + config.stderr).toBe(0);
    expect(config.stdout + config.stderr).toMatch(/SUCCESS: 1 rule files found/);
    const rules = await execa(
      'docker',
      ['exec', container('prometheus'), 'promtool', 'check', 'rules', '/etc/prometheus/rules/stackctl.yml'],
      { reject: false },
    );
    expect(rules.exitCode, rules.stdout + rules.stderr).toBe(0);
    expect(rules.stdout).toMatch(/SUCCESS: 7 rules found/);
  });

  it('status -r shows CPU and memory per running container, and --json carries them', async () => {
    const json = await runCli(['status', ENV, '-r', '--json'], { cwd: project.root });
    expect(json.exitCode, json.stderr).toBe(0);
    const containers = (
      JSON.parse(json.stdout) as {
        containers: {
          service: string;
          cpuPercent: number | null;
          memoryBytes: number | null;
          memoryLimitBytes: number | null;
        }[];
      }
    ).containers;
    const prometheus = containers.find((entry) => entry.service === 'prometheus');
    expect(prometheus?.cpuPercent).toEqual(expect.any(Number));
    // A real Prometheus holds megabytes; the limit is the host's memory (none was set).
    expect(prometheus?.memoryBytes).toBeGreaterThan(1024 * 1024);
    expect(prometheus?.memoryLimitBytes).toBeGreaterThan(prometheus?.memoryBytes ?? 0);
    const text = await runCli(['status', ENV, '--resources'], { cwd: project.root });
    expect(text.stdout).toMatch(/SERVICE\s+STATE\s+HEALTH\s+CPU\s+MEMORY/);
    expect(text.stdout).toMatch(/prometheus\s+running\s+\S+\s+\d+\.\d%\s+\d+\.\d MiB \/ \d+ MiB/);
    // No nvidia-smi on this host: no GPU column, and null GPU memory in --json.
    expect(text.stdout).not.toContain('GPU MEMORY');
    expect(
      (JSON.parse(json.stdout) as { containers: { gpuMemoryMiB: number | null }[] }).containers.every(
        (entry) => entry.gpuMemoryMiB === null,
      ),
    ).toBe(true);
  });

  it('status -r asks nvidia-smi once for GPU memory per container, where the host has one', async () => {
    const log = join(tmpdir(), `smi-status-${String(process.pid)}.log`);
    // A real table of a machine whose one GPU process (pid 15973, python) is none of these containers.
    const env = {
      ...(await fakeNvidiaSmiEnv({ other: 'smi-table-1xk80-driver450-01.txt' })),
      FAKE_SMI_LOG: log,
    };
    const text = await runCli(['status', ENV, '-r'], { cwd: project.root, env });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/SERVICE\s+STATE\s+HEALTH\s+CPU\s+MEMORY\s+GPU MEMORY/);
    expect(text.stdout).toMatch(/prometheus\s+running\s+\S+\s+\d+\.\d%\s+\d+\.\d MiB \/ \d+ MiB\s+-/);
    // One call, without arguments: the default table (the fake logs each call's arguments, a line each).
    expect(await readFile(log, 'utf8')).toBe('\n');
  });

  it("fires BackupOverdue and SecretRotationDue from stackctl's own metrics (promtool test rules)", async () => {
    // Series as the textfile collector exposes them; promtool evaluates the generated rules on them.
    const test = [
      'rule_files: [/etc/prometheus/rules/stackctl.yml]',
      'evaluation_interval: 1m',
      'tests:',
      '  - interval: 1m',
      '    input_series:',
      `      - { series: 'stackctl_backup_due_timestamp_seconds{environment="${ENV}",service="db"}', values: '300x20' }`,
      `      - { series: 'stackctl_secret_rotation_due_timestamp_seconds{environment="${ENV}",name="DB_PASSWORD"}', values: '600x20' }`,
      `      - { series: 'stackctl_backup_due_timestamp_seconds{environment="other",service="db"}', values: '0x20' }`,
      '    alert_rule_test:',
      '      - { eval_time: 4m, alertname: BackupOverdue, exp_alerts: [] }',
      '      - eval_time: 7m',
      '        alertname: BackupOverdue',
      '        exp_alerts:',
      `          - exp_labels: { severity: warning, environment: ${ENV}, service: db }`,
      '            exp_annotations:',
      `              summary: 'the last backup of db in ${ENV} is older than its schedule allows'`,
      `              description: "No sound backup since the schedule's interval and half of it again: run stackctl backup ${ENV}, and check its scheduled job (stackctl schedule install ${ENV})."`,
      '      - { eval_time: 9m, alertname: SecretRotationDue, exp_alerts: [] }',
      '      - eval_time: 12m',
      '        alertname: SecretRotationDue',
      '        exp_alerts:',
      `          - exp_labels: { severity: warning, environment: ${ENV}, name: DB_PASSWORD }`,
      '            exp_annotations:',
      `              summary: 'DB_PASSWORD of ${ENV} is due for rotation'`,
      `              description: "Its secret type's rotationDays have passed: stackctl secrets rotate ${ENV} --due."`,
      '',
    ].join('\n');
    const run = await execa(
      'docker',
      [
        'exec',
        '-i',
        container('prometheus'),
        'sh',
        '-c',
        'cat > /tmp/state-test.yml && promtool test rules /tmp/state-test.yml',
      ],
      { input: test, reject: false },
    );
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('SUCCESS');
  });

  it("keeps only this environment's containers from cAdvisor, named by compose service and stack", async () => {
    const series = await until('cAdvisor series in Prometheus', async () => {
      const data = await prometheusApi<Record<string, string>[]>(
        `/api/v1/series?match[]=${encodeURIComponent('container_memory_working_set_bytes')}`,
      );
      return data.length > 0 ? data : undefined;
    });
    // The other project's container and the host's root cgroup are dropped at the scrape.
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({
      container_service: 'db',
      container_stack: 'data',
      service: 'cadvisor',
    });
    expect(Object.keys(series[0] ?? {}).filter((label) => label.startsWith('container_label_'))).toEqual([]);
  });

  it('fires ContainerCrashLooping on a container whose CPU counter starts over, not on a steady one', async () => {
    // Each restart is a new cgroup: its CPU counter starts again from 0 (three resets in 15 minutes).
    const test = [
      'rule_files: [/etc/prometheus/rules/stackctl.yml]',
      'evaluation_interval: 1m',
      'tests:',
      '  - interval: 1m',
      '    input_series:',
      `      - { series: 'container_cpu_usage_seconds_total{container_service="db",name="x-db-1"}', values: '0+5x3 0+5x3 0+5x3 0+5x8' }`,
      `      - { series: 'container_cpu_usage_seconds_total{container_service="web",name="x-web-1"}', values: '0+5x20' }`,
      '    alert_rule_test:',
      '      - eval_time: 16m',
      '        alertname: ContainerCrashLooping',
      '        exp_alerts:',
      '          - exp_labels: { severity: critical, container_service: db, name: x-db-1 }',
      '            exp_annotations:',
      "              summary: 'db restarted 3 times in 15 minutes'",
      `              description: 'x-db-1 keeps exiting and being restarted: stackctl logs ${ENV} db.'`,
      '      - { eval_time: 40m, alertname: ContainerCrashLooping, exp_alerts: [] }',
      '',
    ].join('\n');
    const run = await execa(
      'docker',
      [
        'exec',
        '-i',
        container('prometheus'),
        'sh',
        '-c',
        'cat > /tmp/crash-test.yml && promtool test rules /tmp/crash-test.yml',
      ],
      { input: test, reject: false },
    );
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('SUCCESS');
  });

  it("serves stackctl's own metrics through the node exporter: each secret's rotation date", async () => {
    const store = JSON.parse(await readFile(join(project.root, 'secrets', `.env.${ENV}.json`), 'utf8')) as {
      secrets: { DB_PASSWORD: { rotationDueAt: string } };
    };
    const due = Math.round(Date.parse(store.secrets.DB_PASSWORD.rotationDueAt) / 1000);
    const result = await until('the rotation date in Prometheus', async () => {
      const data = await prometheusApi<{ result: { value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(`stackctl_secret_rotation_due_timestamp_seconds{environment="${ENV}",name="DB_PASSWORD"}`)}`,
      );
      return data.result[0];
    });
    expect(Number(result.value[1])).toBe(due);
  });

  it('scrapes every target, and fires ServiceDown for an exporter that stops', async () => {
    const targets = await until('both targets up', async () => {
      const data = await prometheusApi<{ activeTargets: { labels: { service: string }; health: string }[] }>(
        '/api/v1/targets',
      );
      const up = data.activeTargets
        .filter((target) => target.health === 'up')
        .map((target) => target.labels.service);
      return up.length === 3 ? up.sort() : undefined;
    });
    expect(targets).toEqual(['cadvisor', 'node-exporter', 'prometheus']);
    // The node exporter's own metrics reach Prometheus: the disk rule has data to judge.
    const series = await prometheusApi<unknown[]>('/api/v1/series?match[]=node_filesystem_avail_bytes');
    expect(series.length).toBeGreaterThan(0);
    await execa('docker', ['stop', container('node-exporter')]);
    const alert = await until('ServiceDown firing', async () => {
      const data = await prometheusApi<{ alerts: { labels: Record<string, string>; state: string }[] }>(
        '/api/v1/alerts',
      );
      return data.alerts.find(
        (entry) => entry.labels['alertname'] === 'ServiceDown' && entry.state === 'firing',
      );
    });
    expect(alert.labels).toMatchObject({
      service: 'node-exporter',
      severity: 'critical',
      job: 'node-exporter',
    });
  }, 90_000);

  it("passes promtool for the shipped schema's production environment, as committed", async () => {
    const folder = join(REPO_ROOT, 'configs', 'production', 'prometheus');
    const result = await runOneOff(
      'stackctl-test/prometheus:1',
      'promtool check config /etc/prometheus/prometheus.yml',
      [
        '-v',
        `${join(folder, 'prometheus.yml')}:/etc/prometheus/prometheus.yml:ro`,
        '-v',
        `${join(folder, 'stackctl.yml')}:/etc/prometheus/rules/stackctl.yml:ro`,
      ],
    );
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    // Service down, disk and memory (node), crash loop and memory limit (cAdvisor), PostgreSQL, Redis,
    // GPU temperature and memory (DCGM), vLLM's KV cache and queue.
    expect(result.stdout + result.stderr).toMatch(/SUCCESS: 13 rules found/);
  });
});

// The generated alert rules and Grafana dashboards query only metrics the exporters really expose:
// each name is looked up in what the real exporter printed (Debian's node, PostgreSQL and Redis exporters) or in the
// documented lists of DCGM and vLLM (test/fixtures/exporters/SOURCES.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderConfigFiles } from '../../src/generate/config-files.js';
import { alertRules, metricNamesOf } from '../../src/generate/prometheus-rules.js';
import { DASHBOARDS_FOLDER, overviewPanels } from '../../src/generate/grafana.js';
import {
  CADVISOR_CONTAINER_LABELS,
  cadvisorLabel,
  CONTAINER_SERVICE_LABEL,
  CONTAINER_STACK_LABEL,
} from '../../src/generate/cadvisor.js';
import { resolveEnvironment } from '../../src/model/environment.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { REPO_ROOT } from '../helpers/paths.js';

const fixtures = join(REPO_ROOT, 'test', 'fixtures', 'exporters');
const exposed = (file: string): Set<string> =>
  new Set(
    readFileSync(join(fixtures, file), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0] ?? ''),
  );
const METRICS = {
  node: exposed('node-exporter-1.5.0.txt'),
  postgres: exposed('postgres-exporter-0.11.1.txt'),
  redis: exposed('redis-exporter-1.45.0.txt'),
  dcgm: exposed('dcgm-exporter-default-counters.txt'),
  cadvisor: exposed('cadvisor-metrics.txt'),
  vllm: exposed('vllm-metrics.txt'),
};

/** app.yaml with a Prometheus and one scraped service per exporter kind, in an environment of its own. */
async function monitoredStack(): Promise<StackFile> {
  const services = [
    '  prometheus:',
    '    stack: side',
    '    image: stackctl-test/prometheus:1',
    '    metrics: { port: 9090, exporter: prometheus }',
    '    configFiles:',
    '      - { generate: prometheus, target: /etc/prometheus/prometheus.yml }',
    '      - { generate: prometheus-rules, target: /etc/prometheus/rules/stackctl.yml }',
    '  grafana:',
    '    stack: side',
    '    image: grafana/grafana:11.3.0',
    '    metrics: { port: 3000, exporter: grafana }',
    '    configFiles:',
    '      - { generate: grafana-datasources, target: /etc/grafana/provisioning/datasources/stackctl.yml }',
    '      - { generate: grafana-dashboards, target: /etc/grafana/provisioning/dashboards/stackctl-dashboards.yml }',
    '      - { generate: grafana-dashboard, target: /etc/grafana/dashboards/overview.json }',
    ...(['node', 'postgres', 'redis', 'dcgm', 'vllm', 'cadvisor'] as const).flatMap((kind, i) => [
      `  ${kind}-exporter:`,
      '    stack: side',
      '    image: stackctl-test/exporters:1',
      `    metrics: { port: ${String(9100 + i)}, exporter: ${kind} }`,
    ]),
  ];
  const environment = [
    '  watched:',
    '    description: Everything scraped',
    '    gpu: { required: false, profile: cpu }',
    '    memoryMinimumGb: 0.1',
    '    diskMinimumGb: 0.1',
    '    addressPool: 10.250.208.0/20',
    '    services: [db, prometheus, grafana, node-exporter, postgres-exporter, redis-exporter, dcgm-exporter, vllm-exporter, cadvisor-exporter]',
  ];
  const text = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'stacks', 'app.yaml'), 'utf8').replace(
    'environments:\n',
    () => [...services, 'environments:', ...environment, ''].join('\n'),
  );
  const checked = await validateStackText(text, { fileName: 'app.yaml' });
  if (!checked.valid) throw new Error(checked.issues.map((issue) => issue.message).join('; '));
  return checked.file as StackFile;
}

describe('generated alert rules', () => {
  it('query only metrics the exporters of their kind really expose', async () => {
    const model = resolveEnvironment(await monitoredStack(), 'watched');
    const groups = alertRules(model, '2m');
    expect(groups.map((group) => group.name)).toEqual([
      'stackctl-services',
      'stackctl-node',
      'stackctl-cadvisor',
      'stackctl-postgres',
      'stackctl-redis',
      'stackctl-dcgm',
      'stackctl-vllm',
    ]);
    for (const group of groups) {
      const kind = group.name.replace('stackctl-', '') as keyof typeof METRICS | 'services';
      for (const rule of group.rules) {
        const names = metricNamesOf(rule.expr);
        expect(names.length, rule.alert).toBeGreaterThan(0);
        for (const name of names) {
          if (kind === 'services')
            expect(name).toBe('up'); // Prometheus's own, for every target
          else expect(METRICS[kind].has(name), `${rule.alert}: ${name}`).toBe(true);
        }
      }
    }
  });

  it('leave out the rules of exporters the environment does not run', async () => {
    const file = await monitoredStack();
    const model = resolveEnvironment(file, 'ok');
    expect(alertRules(model, '2m')).toEqual([]);
  });

  it('are loaded by the prometheus.yml of the same service, at their mount target', async () => {
    const file = await monitoredStack();
    const model = resolveEnvironment(file, 'watched');
    const files = renderConfigFiles(file, model, ['# header']);
    const prometheus = files.find((entry) => entry.generate === 'prometheus');
    const config = parse(prometheus?.content ?? '') as {
      rule_files: string[];
      scrape_configs: { job_name: string }[];
    };
    expect(config.rule_files).toEqual(['/etc/prometheus/rules/stackctl.yml']);
    expect(config.scrape_configs.map((job) => job.job_name)).toContain('postgres-exporter');
    const rules = parse(files.find((entry) => entry.generate === 'prometheus-rules')?.content ?? '') as {
      groups: { rules: { alert: string; for: string }[] }[];
    };
    expect(rules.groups[0]?.rules[0]).toMatchObject({ alert: 'ServiceDown', for: '2m' });
  });
});

describe('cAdvisor in prometheus.yml', () => {
  it("keeps only this environment's containers, named by the labels the rules and panels query", async () => {
    const file = await monitoredStack();
    const model = resolveEnvironment(file, 'watched');
    const prometheus = renderConfigFiles(file, model, ['# h']).find(
      (entry) => entry.generate === 'prometheus',
    );
    const jobs = (
      parse(prometheus?.content ?? '') as {
        scrape_configs: { job_name: string; metric_relabel_configs?: Record<string, unknown>[] }[];
      }
    ).scrape_configs;
    const relabel = jobs.find((job) => job.job_name === 'cadvisor-exporter')?.metric_relabel_configs;
    expect(relabel?.[0]).toEqual({
      source_labels: ['container_label_com_docker_compose_project'],
      regex: 'stktest-watched',
      action: 'keep',
    });
    const written = (relabel ?? []).map((step) => step['target_label']).filter(Boolean);
    expect(written).toEqual([CONTAINER_SERVICE_LABEL, CONTAINER_STACK_LABEL]);
    // Only the cAdvisor job is relabelled.
    expect(jobs.filter((job) => job.metric_relabel_configs).map((job) => job.job_name)).toEqual([
      'cadvisor-exporter',
    ]);
    // The labels the relabeling reads are the ones the shipped cAdvisor is told to keep.
    const shipped = parse(readFileSync(join(REPO_ROOT, 'schemas', 'compose-schema.yaml'), 'utf8')) as {
      services: Record<string, { command: string[] }>;
    };
    const kept = shipped.services['cadvisor']?.command.find((arg) =>
      arg.startsWith('--whitelisted_container_labels='),
    );
    expect(kept?.split('=')[1]?.split(',')).toEqual(CADVISOR_CONTAINER_LABELS);
    for (const step of relabel ?? [])
      for (const label of (step['source_labels'] as string[] | undefined) ?? [])
        expect(CADVISOR_CONTAINER_LABELS.map(cadvisorLabel)).toContain(label);
  });
});

describe('metric names in a PromQL expression', () => {
  it('are told from functions, label names and operators', () => {
    expect(
      metricNamesOf(
        'node_filesystem_avail_bytes{fstype!~"tmpfs|x"} / node_filesystem_size_bytes{fstype!~"tmpfs"} < 0.10',
      ),
    ).toEqual(['node_filesystem_avail_bytes', 'node_filesystem_size_bytes']);
    expect(metricNamesOf('(vllm:kv_cache_usage_perc or vllm:gpu_cache_usage_perc) > 0.95')).toEqual([
      'vllm:kv_cache_usage_perc',
      'vllm:gpu_cache_usage_perc',
    ]);
    expect(metricNamesOf('changes(x_total{a="b"}[15m]) > 2')).toEqual(['x_total']);
  });
});

/** A name an exporter exposes; a histogram's series (_bucket, _sum, _count) by its base name. */
function isExposed(kind: keyof typeof METRICS, name: string): boolean {
  return METRICS[kind].has(name) || METRICS[kind].has(name.replace(/_(bucket|sum|count)$/, ''));
}

describe('generated Grafana provisioning', () => {
  it("points the datasource at the environment's Prometheus and loads dashboards from where they are mounted", async () => {
    const file = await monitoredStack();
    const files = renderConfigFiles(file, resolveEnvironment(file, 'watched'), ['# Generated by stackctl.']);
    const content = (generate: string): string =>
      files.find((entry) => entry.generate === generate)?.content ?? '';
    const datasources = parse(content('grafana-datasources')) as {
      datasources: { type: string; url: string; isDefault: boolean }[];
    };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({
        type: 'prometheus',
        url: 'http://stktest-watched-prometheus-1:9090',
        isDefault: true,
      }),
    ]);
    const provider = parse(content('grafana-dashboards')) as { providers: { options: { path: string } }[] };
    expect(provider.providers[0]?.options.path).toBe(DASHBOARDS_FOLDER);
    const dashboard = files.find((entry) => entry.generate === 'grafana-dashboard');
    expect(dashboard?.target.startsWith(`${DASHBOARDS_FOLDER}/`)).toBe(true);
    // JSON has no comments: the header is the dashboard's description.
    const model = JSON.parse(dashboard?.content ?? '') as {
      description: string;
      panels: { title: string }[];
    };
    expect(model.description).toBe('Generated by stackctl.');
    expect(model.panels.map((panel) => panel.title)).toContain('vLLM KV cache used');
  });

  it('queries in every panel only metrics the scraped exporters really expose', async () => {
    const file = await monitoredStack();
    const panels = overviewPanels(resolveEnvironment(file, 'watched'));
    expect(panels.length).toBeGreaterThan(10);
    const kinds = ['node', 'postgres', 'redis', 'dcgm', 'vllm', 'cadvisor'] as const;
    for (const panel of panels) {
      for (const name of metricNamesOf(panel.expr)) {
        if (name === 'up') continue; // Prometheus's own, for every target
        expect(
          kinds.some((kind) => isExposed(kind, name)),
          `${panel.title}: ${name}`,
        ).toBe(true);
      }
    }
    // An environment that scrapes nothing gets no panels.
    expect(overviewPanels(resolveEnvironment(file, 'ok'))).toEqual([]);
  });
});

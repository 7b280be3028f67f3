// The shipped schema's PostgreSQL and Redis exporters as production wires them (the connection from
// its variables, the credentials from the store), run for real: Debian's exporters against real
// PostgreSQL and Redis, scraped by Debian's Prometheus through the generated prometheus.yml and alert
// rules; stopping a data service fires its rule.
import { execa } from 'execa';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { dataStack, type DataStack } from '../helpers/data-stack.js';
import { freePort } from '../helpers/project.js';

const ENV = 'watch';
let data: DataStack;

const container = (service: string): string => `${data.name}-${ENV}-${service}-1`;

async function prometheusApi<T>(path: string): Promise<T> {
  const { stdout } = await execa('docker', [
    'inspect',
    '-f',
    '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}',
    container('prometheus'),
  ]);
  const response = await fetch(`http://${stdout.trim().split(' ')[0] ?? ''}:9090${path}`);
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

const query = async (expr: string): Promise<string | undefined> =>
  (
    await prometheusApi<{ result: { value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(expr)}`,
    )
  ).result[0]?.value[1];

beforeAll(async () => {
  data = await dataStack('mex', 231, {
    schema: (text) =>
      text
        .replace('variables:\n', () =>
          [
            // Not 1 s: with its database gone, the PostgreSQL exporter takes about a second to answer,
            // and a scrape's timeout is at most its interval.
            'variables:',
            '  PROMETHEUS_SCRAPE_INTERVAL: { type: string, description: How often Prometheus scrapes, default: 5s }',
            '  PROMETHEUS_ALERT_FOR: { type: string, description: How long before an alert fires, default: 2s }',
            '',
          ].join('\n'),
        )
        .replace('environments:\n', () =>
          [
            'environments:',
            `  ${ENV}:`,
            '    description: The data services and their exporters, scraped',
            '    gpu: { required: false, profile: cpu }',
            '    memoryMinimumGb: 0.1',
            '    addressPool: 10.231.16.0/20',
            '    services: [postgres, redis, prometheus, postgres-exporter, redis-exporter]',
            '',
          ].join('\n'),
        ),
  });
  // Debian's packages in place of the upstream images, as a user's overlay would put them.
  await appendFile(
    join(data.project.root, 'compose', 'local.override.yml'),
    [
      '  prometheus:',
      '    image: stackctl-test/prometheus:1',
      "    command: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus']",
      `    ports: !override ['127.0.0.1:${await freePort()}:9090']`,
      '    healthcheck: { disable: true }',
      '  postgres-exporter:',
      '    image: stackctl-test/exporters:1',
      "    entrypoint: ['prometheus-postgres-exporter']",
      '  redis-exporter:',
      '    image: stackctl-test/exporters:1',
      "    entrypoint: ['prometheus-redis-exporter']",
      '',
    ].join('\n'),
  );
  const started = await runCli(['start', ENV, '--skip-preflight'], { cwd: data.project.root });
  expect(started.exitCode, started.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await data.remove();
});

describe("the shipped schema's data exporters", () => {
  it('log in with the stored credentials: both scraped, PostgreSQL and Redis up', async () => {
    const targets = await until('every target up', async () => {
      const found = await prometheusApi<{ activeTargets: { labels: { service: string }; health: string }[] }>(
        '/api/v1/targets',
      );
      const up = found.activeTargets.filter((target) => target.health === 'up').map((t) => t.labels.service);
      return up.length === 3 ? up.sort() : undefined;
    });
    expect(targets).toEqual(['postgres-exporter', 'prometheus', 'redis-exporter']);
    expect(await until('pg_up', () => query('pg_up'))).toBe('1');
    expect(await until('redis_up', () => query('redis_up'))).toBe('1');
    // The password reached the exporters through compose's environment, never a command line.
    const store = JSON.parse(
      await readFile(join(data.project.root, 'secrets', `.env.${ENV}.json`), 'utf8'),
    ) as { secrets: Record<string, { value: string }> };
    const password = store.secrets['REDIS_PASSWORD']?.value ?? '';
    expect(password.length).toBeGreaterThan(10);
    const { stdout } = await execa('docker', [
      'inspect',
      '-f',
      '{{json .Args}}',
      container('redis-exporter'),
    ]);
    expect(stdout.includes(password)).toBe(false);
  });

  it('fire PostgresDown and RedisDown when the data services stop', async () => {
    await execa('docker', ['stop', container('postgres'), container('redis')]);
    const firing = await until('both alerts firing', async () => {
      const { alerts } = await prometheusApi<{ alerts: { labels: Record<string, string>; state: string }[] }>(
        '/api/v1/alerts',
      );
      const names = alerts
        .filter((alert) => alert.state === 'firing')
        .map((alert) => alert.labels['alertname'] ?? '');
      return names.includes('PostgresDown') && names.includes('RedisDown') ? names : undefined;
    });
    // The exporters themselves still answer: only the services behind them are down.
    expect(firing).not.toContain('ServiceDown');
  }, 90_000);
});

// Retention by data kind against the store that owns the data (issue 25): real Prometheus (Debian's
// package, .ci/build-test-images.sh). Its TSDB is a `metrics` volume: `retention cleanup` removes
// old plain log files and never a file of the TSDB, however old; Prometheus expires its own old
// blocks by the retention flag the schema gives it, and keeps the recent ones.
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/project.js';
import { removeByLabel } from '../helpers/stack-project.js';
import { runOneOff } from '../helpers/one-off.js';

const IMAGE = 'stackctl-test/prometheus:1';
const name = `prm229p${process.pid}`;
const env = 'mon';
let root: string;
let port: number;

const schema = (webPort: number): string => `version: 1
project: { name: ${name}, restartPolicy: unless-stopped }
healthcheckTemplates:
  quick: { interval: 30s, timeout: 5s, retries: 3, start_period: 60s, start_interval: 250ms }
secretTypes:
  encryption_key: { length: 32, rotationDays: 365 }
variables:
  BIND_ADDRESS: { type: string, description: Bind address, default: 127.0.0.1 }
  PROMETHEUS_PORT: { type: integer, description: Prometheus, default: ${webPort}, minimum: 1, maximum: 65535 }
  PROMETHEUS_RETENTION_TIME: { type: string, description: Retention, default: 15d, fromRetention: metricsDays }
  BACKUP_ENCRYPTION_KEY: { type: secret, secretType: encryption_key, description: Backup key }
  CUDA_VISIBLE_DEVICES: { type: string, description: GPUs, default: '' }
  NVIDIA_VISIBLE_DEVICES: { type: string, description: GPUs, default: void }
  VLLM_TENSOR_PARALLEL_SIZE: { type: integer, description: TP, default: 1, minimum: 1 }
  VLLM_PIPELINE_PARALLEL_SIZE: { type: integer, description: PP, default: 1, minimum: 1 }
  CUDA_DEVICE_ORDER: { type: string, description: Order, default: PCI_BUS_ID }
  GPU_COUNT: { type: integer, description: GPUs, default: 0, minimum: 0 }
gpuProfiles:
  cpu:
    description: No GPU
    gpuCount: 0
    variables: { CUDA_VISIBLE_DEVICES: '', NVIDIA_VISIBLE_DEVICES: void, VLLM_TENSOR_PARALLEL_SIZE: 1, VLLM_PIPELINE_PARALLEL_SIZE: 1, CUDA_DEVICE_ORDER: PCI_BUS_ID, GPU_COUNT: 0 }
stacks:
  monitoring: { description: Monitoring, network: mon-net, subnetSlot: 0, dependsOn: [] }
volumes:
  prometheus_data: { data: metrics, description: TSDB }
  app_logs: { data: logs, description: Plain log files }
services:
  prometheus:
    stack: monitoring
    image: ${IMAGE}
    command:
      - --config.file=/etc/prometheus/prometheus.yml
      - --storage.tsdb.path=/prometheus
      - --storage.tsdb.retention.time=\${PROMETHEUS_RETENTION_TIME}
    ports: ['\${BIND_ADDRESS}:\${PROMETHEUS_PORT}:9090']
    volumes: ['prometheus_data:/prometheus', 'app_logs:/var/log/app']
    healthcheck:
      template: quick
      test: ['CMD', 'promtool', 'query', 'instant', 'http://127.0.0.1:9090', 'vector(1)']
environments:
  ${env}:
    description: Monitoring only
    gpu: { required: false, profile: cpu }
    memoryMinimumGb: 1
    addressPool: 10.229.0.0/20
    services: [prometheus]
backup:
  defaultTier: local
  encryptionKey: BACKUP_ENCRYPTION_KEY
  tiers:
    local: { type: local, path: backups }
  retention:
    ${env}: { days: 7, logsDays: 1, metricsDays: 3 }
`;

/** A one-off container of the image with the volumes, as root: for what the test sets up and reads. */
const inVolumes = (command: string) =>
  runOneOff(IMAGE, command, [
    '--network',
    'none',
    '--user',
    '0',
    '-v',
    `${name}-${env}_prometheus_data:/prometheus`,
    '-v',
    `${name}-${env}_app_logs:/var/log/app`,
  ]);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'stackctl-live-store-'));
  port = await freePort();
  await mkdir(join(root, 'schemas'));
  await writeFile(join(root, 'schemas', 'compose-schema.yaml'), schema(port));
  for (const volume of ['prometheus_data', 'app_logs'])
    await execa('docker', [
      'volume',
      'create',
      '--label',
      `com.docker.compose.project=${name}-${env}`,
      '--label',
      `com.docker.compose.volume=${volume}`,
      '--label',
      `io.stackctl.project=${name}`,
      `${name}-${env}_${volume}`,
    ]);
}, 60_000);
afterAll(async () => {
  await removeByLabel(`io.stackctl.project=${name}`);
  await rm(root, { recursive: true, force: true });
});

describe('retention of a metrics volume', () => {
  it('leaves every TSDB file to Prometheus, which drops its old blocks by its own retention', async () => {
    const now = Math.floor(Date.now() / 1000);
    // promtool cuts blocks at 2 h boundaries: each series of samples starts just after one, so the
    // ten-day-old samples (past the 3d retention) make one block and the recent ones another.
    const blockStart = (at: number) => Math.floor(at / 7200) * 7200 + 60;
    const old = blockStart(now - 10 * 86_400);
    const recent = blockStart(now - 4 * 3_600);
    const samples = (start: number, count: number) =>
      Array.from({ length: count }, (_, i) => `stackctl_test_metric ${i} ${start + i * 60}`).join('\n');
    await writeFile(
      join(root, 'm.om'),
      `# TYPE stackctl_test_metric gauge\n${samples(old, 30)}\n${samples(recent, 30)}\n# EOF\n`,
    );
    const made = await runOneOff(
      IMAGE,
      [
        'set -e',
        // Run again when the engine lost its output, so it starts from empty volumes each time.
        'rm -rf /prometheus/* /var/log/app/*',
        'promtool tsdb create-blocks-from openmetrics /tmp/m.om /prometheus >/dev/null',
        // Every TSDB file years old: a retention by file age would delete each of them.
        'find /prometheus -exec touch -d "2020-01-01 00:00" {} +',
        'echo old > /var/log/app/old.log && touch -d "2020-01-01 00:00" /var/log/app/old.log',
        'echo new > /var/log/app/new.log',
        'ls /prometheus | grep -c "^01"',
      ].join('\n'),
      [
        '--network',
        'none',
        '--user',
        '0',
        '-v',
        `${join(root, 'm.om')}:/tmp/m.om:ro`,
        '-v',
        `${name}-${env}_prometheus_data:/prometheus`,
        '-v',
        `${name}-${env}_app_logs:/var/log/app`,
      ],
    );
    expect(made.stdout.trim()).toBe('2');

    const started = await runCli(['start', env, '--skip-preflight'], { cwd: root });
    expect(started.exitCode, started.stderr).toBe(0);
    // The policy's metricsDays (3) became --storage.tsdb.retention.time=3d, which Prometheus applies
    // itself: the ten-day-old block goes.
    let blocks = '';
    for (let tries = 0; tries < 120; tries += 1) {
      blocks = (await inVolumes('ls /prometheus | grep -c "^01" || true')).stdout.trim();
      if (blocks === '1') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(blocks).toBe('1');
    const query = async (at: number): Promise<unknown[]> => {
      const response = await fetch(
        `http://127.0.0.1:${port}/api/v1/query?query=stackctl_test_metric&time=${at}`,
      );
      return ((await response.json()) as { data: { result: unknown[] } }).data.result;
    };
    expect(await query(recent + 29 * 60)).toHaveLength(1);
    expect(await query(old + 29 * 60)).toHaveLength(0);

    // retention cleanup: the old log file goes, no file of the TSDB does, however old.
    const before = (await inVolumes('find /prometheus/01* -type f | sort')).stdout;
    expect(before).toMatch(/\/prometheus\/01\w+\/index/);
    const cleaned = await runCli(['retention', 'cleanup', env, '--yes', '--json'], { cwd: root });
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    const report = JSON.parse(cleaned.stdout) as { files: { volume: string; path: string }[] };
    expect(report.files.map((entry) => `${entry.volume}:${entry.path}`)).toEqual([
      'app_logs:/var/log/app/old.log',
    ]);
    expect((await inVolumes('find /prometheus/01* -type f | sort')).stdout).toBe(before);
    expect((await inVolumes('ls /var/log/app')).stdout.trim()).toBe('new.log');
    expect(await query(recent + 29 * 60)).toHaveLength(1);
  }, 240_000);
});

/**
 * An Elasticsearch stand-in answering the two routes retention calls, as Elastic's reference
 * describes them (no Elasticsearch is in Debian): GET /_cat/indices/<pattern>?format=json&h=index,creation.date
 * (cat indices API: a JSON array of rows, creation.date in epoch milliseconds as a string, hidden and
 * system indices left out of wildcards) and DELETE /<index> (delete index API: {"acknowledged": true}).
 */
async function startElasticsearchStandIn(
  indices: Map<string, number>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const cat = /^\/_cat\/indices\/(.+)$/.exec(url.pathname);
    response.setHeader('content-type', 'application/json');
    if (request.method === 'GET' && cat?.[1]) {
      const pattern = new RegExp(
        `^${decodeURIComponent(cat[1])
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')}$`,
      );
      const rows = [...indices]
        .filter(([name]) => pattern.test(name) && !name.startsWith('.'))
        .map(([index, created]) => ({ index, 'creation.date': String(created) }));
      response.end(JSON.stringify(rows));
      return;
    }
    const name = decodeURIComponent(url.pathname.slice(1));
    if (request.method === 'DELETE' && indices.delete(name)) {
      response.end(JSON.stringify({ acknowledged: true }));
      return;
    }
    response.statusCode = 404;
    response.end(JSON.stringify({ error: { type: 'index_not_found_exception' }, status: 404 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('retention of an index store', () => {
  it('deletes whole indices older than indexDays through the API, and never a system index', async () => {
    const day = 86_400_000;
    const indices = new Map<string, number>([
      ['logs-2026.10.01', Date.now() - 60 * day],
      ['logs-2026.11.20', Date.now() - 10 * day],
      ['logs-today', Date.now() - 3_600_000],
      ['.kibana_1', Date.now() - 90 * day],
    ]);
    const elastic = await startElasticsearchStandIn(indices);
    const project = await mkdtemp(join(tmpdir(), 'stackctl-index-store-'));
    try {
      await mkdir(join(project, 'schemas'));
      await writeFile(
        join(project, 'schemas', 'compose-schema.yaml'),
        schema(await freePort())
          .replace(
            '  prometheus_data: { data: metrics, description: TSDB }\n',
            '  prometheus_data: { data: metrics, description: TSDB }\n  es_data: { data: index, description: Indices }\n',
          )
          .replace(
            '  prometheus:\n',
            `  elasticsearch:\n    stack: monitoring\n    image: ${IMAGE}\n    volumes: ['es_data:/usr/share/elasticsearch/data']\n    indexRetention: { url: '${elastic.url}', pattern: 'logs-*' }\n  prometheus:\n`,
          )
          .replace('    services: [prometheus]\n', '    services: [prometheus, elasticsearch]\n')
          .replace('{ days: 7, logsDays: 1, metricsDays: 3 }', '{ days: 30, logsDays: 1, indexDays: 7 }'),
      );
      const test = await runCli(['retention', 'test', env, '--json'], { cwd: project });
      expect(test.exitCode, test.stderr).toBe(0);
      const listed = (JSON.parse(test.stdout) as { indices: { index: string; service: string }[] }).indices;
      expect(listed.map((entry) => `${entry.service}:${entry.index}`)).toEqual([
        'elasticsearch:logs-2026.10.01',
        'elasticsearch:logs-2026.11.20',
      ]);
      expect(indices.size).toBe(4);
      const cleaned = await runCli(['retention', 'cleanup', env, '--yes'], { cwd: project });
      expect(cleaned.exitCode, cleaned.stderr).toBe(0);
      expect([...indices.keys()].sort()).toEqual(['.kibana_1', 'logs-today']);
    } finally {
      await elastic.close();
      await rm(project, { recursive: true, force: true });
    }
  }, 60_000);
});

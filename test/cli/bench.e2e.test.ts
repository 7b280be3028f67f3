// Load tests for real (issue 31): Debian's JMeter (stackctl-test/jmeter:1, swapped in for the load
// environment's image through the user overlay) runs the shipped plans against real nginx in front
// of test services, on the target environment's network with no port published anywhere; the key
// a plan needs travels on JMeter's standard input, never on a command line or into a file; a
// failing target gives a summary of its errors; bench compare gates on them; bench --llm measures
// a streamed answer's time to first token and inter-token latency.
import { execa } from 'execa';
import { chmod, copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { commandLinesWhile } from '../helpers/processes.js';
import { freePort } from '../helpers/project.js';
import { stackProject, storedDbPassword, type StackProject } from '../helpers/stack-project.js';
import { Terminal } from '../helpers/terminal.js';
import { inVolume, readVolumeFile, runOneOff } from '../helpers/one-off.js';

let project: StackProject;
let reportPort: number;
const ENV = 'target';

// The gateway stand-in: a CGI answering OpenAI-style chat completions, whole or streamed (8 chunks
// 50 ms apart), only for the bearer key the environment's store holds (its DB_PASSWORD).
const CHAT_CGI = `#!/bin/sh
body=$(head -c "\${CONTENT_LENGTH:-0}")
if [ "$HTTP_AUTHORIZATION" != "Bearer $DB_PASSWORD" ]; then
  printf 'HTTP/1.1 401 Unauthorized\\r\\nContent-Type: application/json\\r\\n\\r\\n{"error":{"message":"invalid key"}}'
  exit 0
fi
case "$body" in
  *'"stream":true'*)
    printf 'Content-Type: text/event-stream\\r\\n\\r\\n'
    for i in 1 2 3 4 5 6 7 8; do
      printf 'data: {"choices":[{"index":0,"delta":{"content":"t%s "}}]}\\n\\n' "$i"
      sleep 0.05
    done
    printf 'data: {"choices":[],"usage":{"completion_tokens":8}}\\n\\n'
    printf 'data: [DONE]\\n\\n' ;;
  *)
    printf 'Content-Type: application/json\\r\\n\\r\\n{"choices":[{"message":{"content":"hello"}}]}' ;;
esac
`;

interface Summary {
  samplers: {
    label: string;
    requests: number;
    errors: number;
    p95Ms: number;
    topErrors: { code: string; message: string; count: number }[];
  }[];
  total: { requests: number; errors: number };
}
interface Record_ {
  id: string;
  plan: string;
  results?: { volume: string; folder: string; dashboard: boolean };
  summary: Summary;
  llm?: {
    requests: number;
    failed: number;
    outputTokens: number;
    ttftMs: { p50: number };
    itlMs: { p50: number; p95: number };
    tokensPerSecond: number;
  };
  recordPath: string;
}

async function bench(
  args: string[],
): Promise<{ exitCode: number; record: Record_ | undefined; stdout: string; stderr: string }> {
  const result = await runCli(['bench', ENV, ...args, '--json'], { cwd: project.root });
  let record: Record_ | undefined;
  try {
    record = JSON.parse(result.stdout) as Record_;
  } catch {
    record = undefined;
  }
  return { exitCode: result.exitCode, record, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  reportPort = await freePort();
  project = await stackProject(242, (schema) =>
    schema
      .replace(
        'route: { path: /web/, port: 8080 }',
        () =>
          'route: { path: /web/, port: 8080, health: / }\n    verify:\n      - { name: web answers, http: { port: 8080, path: /, status: 200 } }',
      )
      .replace(
        'volumes:\n',
        () =>
          'volumes:\n  jmeter_results: { data: test-results }\n  allure_results: { data: test-results }\n',
      )
      .replace('environments:\n', () =>
        [
          '  llm:',
          '    stack: app',
          '    image: stackctl-test/busybox:1',
          '    init: true',
          '    environment:',
          '      DB_PASSWORD: ${DB_PASSWORD}',
          "    command: ['httpd', '-f', '-p', '8080', '-h', '/www']",
          "    volumes: ['./llm:/www:ro']",
          '    route: { path: /llm/, port: 8080, health: / }',
          '  jmeter:',
          '    stack: side',
          '    kind: job',
          '    image: justb4/jmeter:5.5',
          "    volumes: ['./jmeter:/tests:ro', 'jmeter_results:/results']",
          // Stand-ins for the Allure services (Allure is not in Debian): one mounts the results
          // volume where allure-docker-service reads it, one serves a page at the report's path.
          '  allure-results:',
          '    stack: side',
          '    image: stackctl-test/busybox:1',
          '    init: true',
          "    command: ['sleep', '3600']",
          "    volumes: ['allure_results:/app/allure-results']",
          '  allure-report:',
          '    stack: side',
          '    image: stackctl-test/busybox:1',
          '    init: true',
          "    command: ['sh', '-c', 'mkdir -p /www/allure/latest && echo report > /www/allure/latest/index.html && exec httpd -f -p 5050 -h /www']",
          `    ports: ['127.0.0.1:${String(reportPort)}:5050']`,
          'environments:',
          '  target:',
          '    description: Services behind nginx, nothing published',
          '    gpu: { required: false, profile: cpu }',
          '    memoryMinimumGb: 0.1',
          '    diskMinimumGb: 0.1',
          '    addressPool: 10.242.208.0/20',
          '    services: [db, web, llm, proxy]',
          '    overrides:',
          '      web: { publishPorts: false }',
          '  load:',
          '    description: JMeter',
          '    gpu: { required: false, profile: cpu }',
          '    memoryMinimumGb: 0.1',
          '    diskMinimumGb: 0.1',
          '    addressPool: 10.242.224.0/20',
          '    services: [jmeter]',
          '  reports:',
          '    description: Allure stand-ins',
          '    gpu: { required: false, profile: cpu }',
          '    memoryMinimumGb: 0.1',
          '    diskMinimumGb: 0.1',
          '    addressPool: 10.242.240.0/20',
          '    services: [allure-results, allure-report]',
          '',
        ].join('\n'),
      )
      .replace('firstRun:', () =>
        [
          'loadTests:',
          '  environment: load',
          '  service: jmeter',
          '  folder: jmeter',
          '  defaultPlan: health',
          '  plans:',
          '    health: { file: health.jmx, target: { service: proxy } }',
          '    chat:',
          '      file: chat.jmx',
          '      target: { service: llm, via: proxy }',
          '      properties: { model: test-model, chat.path: /cgi-bin/chat }',
          '      secrets: { api.key: DB_PASSWORD }',
          '    nokey:',
          '      file: chat.jmx',
          '      target: { service: llm, via: proxy }',
          '      properties: { model: test-model, chat.path: /cgi-bin/chat }',
          '  llm:',
          '    target: { service: llm, via: proxy }',
          '    path: /cgi-bin/chat',
          '    model: test-model',
          '    key: DB_PASSWORD',
          'testReports:',
          '  environment: reports',
          '  service: allure-results',
          '  resultsPath: /app/allure-results',
          '  report: { service: allure-report, port: 5050, path: /allure/latest/index.html }',
          'firstRun:',
        ].join('\n'),
      ),
  );
  await writeFile(
    join(project.root, 'compose', 'local.override.yml'),
    'services:\n  proxy:\n    image: stackctl-test/nginx:1\n  jmeter:\n    image: stackctl-test/jmeter:1\n',
  );
  await mkdir(join(project.root, 'jmeter'));
  for (const plan of ['health.jmx', 'chat.jmx'])
    await copyFile(join(REPO_ROOT, 'jmeter', plan), join(project.root, 'jmeter', plan));
  await mkdir(join(project.root, 'llm', 'cgi-bin'), { recursive: true });
  await writeFile(join(project.root, 'llm', 'index.html'), 'ok\n');
  await writeFile(join(project.root, 'llm', 'cgi-bin', 'chat'), CHAT_CGI);
  await chmod(join(project.root, 'llm', 'cgi-bin', 'chat'), 0o755);
  await chmod(join(project.root, 'llm'), 0o755);
  const started = await runCli(['start', ENV, '--skip-preflight'], { cwd: project.root });
  expect(started.exitCode, started.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await project.remove();
});

describe('bench ENV with a real JMeter', () => {
  let health: Record_ | undefined;

  it('runs the shipped health plan through nginx on the environment network, nothing published', async () => {
    const result = await bench(['--users', '2', '--duration', '3s', '--ramp', '0s']);
    expect(result.exitCode, result.stderr).toBe(0);
    health = result.record;
    const samplers = Object.fromEntries((health?.summary.samplers ?? []).map((s) => [s.label, s]));
    expect(Object.keys(samplers).sort()).toEqual(['llm', 'web']);
    for (const sampler of Object.values(samplers)) {
      expect(sampler.requests).toBeGreaterThan(5);
      expect(sampler.errors).toBe(0);
      expect(sampler.p95Ms).toBeGreaterThanOrEqual(0);
    }
    expect(health?.summary.total.requests).toBe(
      (samplers['web']?.requests ?? 0) + (samplers['llm']?.requests ?? 0),
    );
    // The requests reached the services through nginx: its access log has JMeter's client.
    const logs = await execa('docker', ['logs', `${project.name}-${ENV}-proxy-1`]);
    expect(logs.stdout).toMatch(/"GET \/web\/ HTTP\/1\.1" 200 .*Apache-HttpClient/);
    expect(logs.stdout).toMatch(/"GET \/llm\/ HTTP\/1\.1" 200 .*Apache-HttpClient/);
    // No container of the project publishes a port; JMeter reached them by name on their network.
    const ports = await execa('docker', [
      'ps',
      '-a',
      '--filter',
      `label=io.stackctl.project=${project.name}`,
      '--format',
      '{{.Names}} {{.Ports}}',
    ]);
    expect(ports.stdout).not.toMatch(/->/);
    // JMeter's results file and log are in the load environment's results volume, in the run's folder.
    expect(health?.results?.dashboard).toBe(false);
    const listed = await inVolume(
      health?.results?.volume ?? '',
      `ls /r/${health?.results?.folder ?? ''}`,
      '/r',
    );
    expect(listed.split('\n').sort()).toEqual(['jmeter.log', 'results.jtl', 'summary.html']);
    // Every request JMeter made is counted: its results file has one row per request after the header.
    const rows = await inVolume(
      health?.results?.volume ?? '',
      `tail -n +2 /r/${health?.results?.folder ?? ''}/results.jtl | wc -l`,
      '/r',
    );
    expect(Number(rows)).toBe(health?.summary.total.requests);
    // JMeter 2.13 writes no dashboard; stackctl's own page has every sampler and the total.
    const page = {
      stdout: await readVolumeFile(
        health?.results?.volume ?? '',
        `${health?.results?.folder ?? ''}/summary.html`,
      ),
    };
    expect(page.stdout).toMatch(/^<!doctype html>/);
    for (const sampler of health?.summary.samplers ?? [])
      expect(page.stdout).toContain(
        `<tr><td>${sampler.label}</td><td>${String(sampler.requests)}</td><td>0</td>`,
      );
    expect(page.stdout).toContain(`<tr><th>TOTAL</th><th>${String(health?.summary.total.requests)}</th>`);
    // The volume is the load environment's, labelled as compose labels it, so compose adopts it.
    const volume = await execa('docker', [
      'volume',
      'inspect',
      '-f',
      '{{json .Labels}}',
      health?.results?.volume ?? '',
    ]);
    expect(JSON.parse(volume.stdout)).toMatchObject({
      'com.docker.compose.project': `${project.name}-load`,
      'com.docker.compose.volume': 'jmeter_results',
    });
    // The JMeter container is gone.
    const left = await execa('docker', [
      'ps',
      '-aq',
      '--filter',
      `label=io.stackctl.stack=bench`,
      '--filter',
      `label=io.stackctl.project=${project.name}`,
    ]);
    expect(left.stdout).toBe('');
  }, 120_000);

  it('passes the plan its key on standard input: the service accepts it, and it is in no command line and no file', async () => {
    const key = await storedDbPassword(project.root, ENV);
    const { result, commandLines } = await commandLinesWhile(
      bench(['--plan', 'chat', '--users', '1', '--duration', '2s', '--ramp', '0s']),
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const samplers = Object.fromEntries((result.record?.summary.samplers ?? []).map((s) => [s.label, s]));
    expect(samplers['chat completion']?.errors).toBe(0);
    expect(samplers['chat completion']?.requests).toBeGreaterThan(0);
    expect(samplers['chat completion (streamed)']?.errors).toBe(0);
    expect(commandLines.size).toBeGreaterThan(10);
    expect([...commandLines].some((line) => line.includes('jmeter'))).toBe(true);
    expect([...commandLines].filter((line) => line.includes(key))).toEqual([]);
    expect(result.stdout).not.toContain(key);
    // Not in the record, not in the project outside the secret store, not in the results volume.
    // (.env.target is compose's env file, which carries the environment's secrets by design.)
    const found = await execa('grep', ['-rlF', key, '.', '--exclude-dir=secrets', `--exclude=.env.${ENV}`], {
      cwd: project.root,
      reject: false,
    });
    expect(found.stdout).toBe('');
    const inResults = await runOneOff('stackctl-test/busybox:1', 'grep -rlF "$KEY" /r', [
      '-e',
      `KEY=${key}`,
      '-v',
      `${result.record?.results?.volume ?? ''}:/r`,
    ]);
    expect(inResults).toMatchObject({ exitCode: 1, stdout: '' });
  }, 120_000);

  let refused: Record_ | undefined;

  it('summarises a failing target with its errors (exit 1), not a crash', async () => {
    const result = await bench(['--plan', 'nokey', '--users', '1', '--duration', '2s', '--ramp', '0s']);
    expect(result.exitCode).toBe(1);
    refused = result.record;
    const chat = refused?.summary.samplers.find((s) => s.label === 'chat completion');
    expect(chat?.requests).toBeGreaterThan(0);
    expect(chat?.errors).toBe(chat?.requests);
    expect(chat?.topErrors[0]).toMatchObject({ code: '401' });
    const plain = await runCli(
      ['bench', ENV, '--plan', 'nokey', '--users', '1', '--duration', '1s', '--ramp', '0s'],
      {
        cwd: project.root,
      },
    );
    expect(plain.exitCode).toBe(1);
    expect(plain.stdout).toMatch(/chat completion: \d+ × 401 Unauthorized/);
    expect(plain.stdout).toMatch(/^TOTAL\s+\d+\s+\d+ \(100%\)/m);
  }, 120_000);

  it('bench compare passes a run against itself and fails (exit 1) past the error threshold', async () => {
    const same = await runCli(['bench', 'compare', health?.id ?? '', health?.id ?? ''], {
      cwd: project.root,
    });
    expect(same.exitCode, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toContain('within the thresholds');
    const chatRun = (await readdir(join(project.root, '.stackctl', 'bench', ENV))).find((name) =>
      name.endsWith('-chat.json'),
    );
    const worse = await runCli(
      ['bench', 'compare', join('.stackctl', 'bench', ENV, chatRun ?? ''), refused?.id ?? ''],
      {
        cwd: project.root,
      },
    );
    expect(worse.exitCode, worse.stdout + worse.stderr).toBe(1);
    expect(worse.stdout).toMatch(/chat completion: errors 0% -> 100% \(\+100 points\)/);
    const runs = await runCli(['bench', 'runs', ENV], { cwd: project.root });
    expect(runs.stdout).toContain(health?.id ?? 'missing');
  }, 60_000);

  it('refuses a target that is not running, naming it', async () => {
    await execa('docker', ['stop', `${project.name}-${ENV}-proxy-1`]);
    try {
      const result = await runCli(['bench', ENV, '--duration', '1s'], { cwd: project.root });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`proxy of ${ENV} is not running`);
    } finally {
      await execa('docker', ['start', `${project.name}-${ENV}-proxy-1`]);
    }
  }, 60_000);
});

describe('bench ENV --llm', () => {
  it('measures time to first token, inter-token latency and tokens/s of streamed answers through nginx', async () => {
    const result = await bench(['--llm', '--users', '2', '--duration', '2s', '--ramp', '0s']);
    expect(result.exitCode, result.stderr).toBe(0);
    const llm = result.record?.llm;
    expect(llm?.requests).toBeGreaterThan(1);
    expect(llm?.failed).toBe(0);
    // 8 chunks per answer, reported by the server's usage.
    expect(llm?.outputTokens).toBe((llm?.requests ?? 0) * 8);
    // The stand-in sleeps 50 ms between chunks.
    expect(llm?.itlMs.p50).toBeGreaterThanOrEqual(30);
    expect(llm?.itlMs.p50).toBeLessThan(1000);
    expect(llm?.tokensPerSecond).toBeGreaterThan(0);
  }, 60_000);

  it('reports an unreachable endpoint as failed requests with the reason (exit 1)', async () => {
    const closed = await freePort();
    const result = await runCli(
      [
        'bench',
        ENV,
        '--llm',
        '--users',
        '1',
        '--duration',
        '1s',
        '--target',
        `http://127.0.0.1:${String(closed)}/v1`,
      ],
      {
        cwd: project.root,
      },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/requests\s+\d+ \(\d+ failed\)/);
    expect(result.stdout).toMatch(/× 0 ECONNREFUSED/);
  }, 60_000);
});

describe('bench on a terminal', () => {
  it('shows JMeter progress and stops the load on Ctrl-C (exit 130, its container gone)', async () => {
    const terminal = await Terminal.open(
      [stackctlCommand(), 'bench', ENV, '--users', '1', '--duration', '60s', '--ramp', '0s'],
      { cwd: project.root, columns: 100 },
    );
    try {
      await terminal.waitFor(/JMeter: summary/, 40_000);
      await terminal.send('C-c');
      expect(await terminal.exitCode(20_000)).toBe(130);
      const left = await execa('docker', [
        'ps',
        '-aq',
        '--filter',
        `label=io.stackctl.stack=bench`,
        '--filter',
        `label=io.stackctl.project=${project.name}`,
      ]);
      expect(left.stdout).toBe('');
    } finally {
      await terminal.close();
    }
  }, 90_000);
});

describe('verify --allure into the testing environment, and test-report', () => {
  it('writes the results into its volume without it running, then says where the report is', async () => {
    const verified = await runCli(['verify', ENV, '--allure'], { cwd: project.root });
    expect(verified.exitCode, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stderr).toContain(`Wrote the volume ${project.name}-reports_allure_results`);
    const files = await inVolume(`${project.name}-reports_allure_results`, 'cat /r/*-result.json', '/r');
    const result = JSON.parse(files) as {
      name: string;
      status: string;
      labels: { name: string; value: string }[];
    };
    expect(result).toMatchObject({ name: 'web answers', status: 'passed' });
    expect(result.labels).toContainEqual({ name: 'suite', value: ENV });

    const stopped = await runCli(['test-report', ENV], { cwd: project.root });
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stdout).toContain(`1 results of ${ENV} (1 passed)`);
    expect(stopped.stdout).toContain(`allure-report is not running: stackctl start reports`);

    const started = await runCli(['start', 'reports', '--skip-preflight'], { cwd: project.root });
    expect(started.exitCode, started.stderr).toBe(0);
    const report = await runCli(['test-report', ENV, '--json'], { cwd: project.root });
    expect(report.exitCode, report.stderr).toBe(0);
    const parsed = JSON.parse(report.stdout) as { url: string; running: boolean; results: { total: number } };
    expect(parsed.url).toBe(`http://127.0.0.1:${String(reportPort)}/allure/latest/index.html`);
    expect(parsed.results.total).toBe(1);
    expect(await (await fetch(parsed.url)).text()).toBe('report\n');
    // Nothing of the helper that wrote the results is left.
    const helpers = await execa('docker', ['ps', '-aq', '--filter', `label=io.stackctl.stack=test-reports`]);
    expect(helpers.stdout).toBe('');
  }, 120_000);
});

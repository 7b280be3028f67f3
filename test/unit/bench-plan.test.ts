import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseResults } from '../../src/effects/jmeter.js';
import { resolveEnvironment } from '../../src/model/environment.js';
import { choosePlan, jmeterProperties, resolveLoadTarget, routeRows } from '../../src/plan/bench.js';
import { compareRuns } from '../../src/plan/bench-compare.js';
import { benchReportHtml } from '../../src/plan/bench-report.js';
import { JtlAccumulator, percentile, type BenchSummary } from '../../src/plan/bench-summary.js';
import { summariseStreams, takeEvents, timingOf, type StreamTiming } from '../../src/plan/llm-bench.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { REPO_ROOT } from '../helpers/paths.js';

const appYaml = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'stacks', 'app.yaml'), 'utf8');
const realJtl = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'jmeter', 'results-2.13.jtl'), 'utf8');

const LOAD_TESTS = [
  'loadTests:',
  '  environment: proxied',
  '  service: proxy',
  '  folder: jmeter',
  '  defaultPlan: health',
  '  plans:',
  '    health: { file: health.jmx, target: { service: proxy } }',
  '    web: { file: web.jmx, target: { service: web, via: proxy } }',
  'firstRun:',
].join('\n');

async function stack(extra = LOAD_TESTS): Promise<{ file?: StackFile; messages: string[] }> {
  const checked = await validateStackText(
    appYaml.replace('firstRun:', () => extra),
    { fileName: 'app.yaml' },
  );
  return {
    ...(checked.valid ? { file: checked.file as StackFile } : {}),
    messages: checked.issues.map((issue) => issue.message),
  };
}

async function summaryOf(text: string): Promise<BenchSummary> {
  const accumulator = new JtlAccumulator();
  await parseResults(Readable.from([text]), (row) => accumulator.add(row));
  return accumulator.summary();
}

describe('the results file JMeter writes', () => {
  it('summarises a real JMeter 2.13 results file per sampler, counted independently here', async () => {
    const summary = await summaryOf(realJtl);
    const rows = realJtl
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    for (const label of ['nginx root', 'missing', 'slow']) {
      const mine = rows.filter((row) => row[2] === label);
      const elapsed = mine.map((row) => Number(row[1])).sort((a, b) => a - b);
      const sampler = summary.samplers.find((s) => s.label === label);
      expect(sampler?.requests).toBe(mine.length);
      expect(sampler?.errors).toBe(mine.filter((row) => row[7] !== 'true').length);
      expect(sampler?.maxMs).toBe(elapsed[elapsed.length - 1]);
      expect(sampler?.p50Ms).toBe(elapsed[Math.ceil(0.5 * elapsed.length) - 1]);
    }
    expect(summary.samplers.find((s) => s.label === 'missing')?.topErrors).toEqual([
      { code: '404', message: 'Not Found', count: 20 },
    ]);
    expect(summary.total.requests).toBe(rows.length);
    expect(summary.total.errors).toBe(40);
  });

  it('reads columns by name and keeps quoted messages with commas and line breaks whole', async () => {
    const text = [
      'label,elapsed,success,timeStamp,responseCode,responseMessage,failureMessage',
      'chat,120,false,1000,500,"Internal, Server Error","upstream said:\nno, really"',
      'chat,80,true,1100,200,OK,',
      '',
    ].join('\n');
    const summary = await summaryOf(text);
    expect(summary.total.requests).toBe(2);
    expect(summary.samplers[0]?.topErrors).toEqual([
      { code: '500', message: 'upstream said:\nno, really', count: 1 },
    ]);
    // Throughput over the sampler's window: first start 1000, last end 1180 ms.
    expect(summary.samplers[0]?.throughput).toBe(11.11);
  });

  it('takes nearest-rank percentiles', () => {
    const values = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(percentile(values, 0.5)).toBe(5);
    expect(percentile(values, 0.95)).toBe(10);
    expect(percentile(values, 0.99)).toBe(10);
    expect(percentile(new Float64Array(), 0.5)).toBe(0);
  });
});

describe('bench compare', () => {
  const summaryWith = (p95: number, throughput: number, errors: number): BenchSummary => {
    const sampler = {
      label: 'api',
      requests: 100,
      errors,
      throughput,
      meanMs: p95 / 2,
      p50Ms: p95 / 2,
      p95Ms: p95,
      p99Ms: p95,
      maxMs: p95,
      topErrors: [],
    };
    return {
      samplers: [sampler],
      total: { ...sampler, label: 'TOTAL' },
      firstSampleAt: 0,
      durationSeconds: 10,
    };
  };
  const thresholds = { percent: 10, errorPoints: 1, minLatencyMs: 5 };

  it('passes changes within the thresholds and ignores latency noise below the minimum', () => {
    expect(compareRuns(summaryWith(100, 50, 0), summaryWith(109, 46, 1), thresholds).regressed).toBe(false);
    expect(compareRuns(summaryWith(2, 50, 0), summaryWith(4, 50, 0), thresholds).regressed).toBe(false);
  });

  it('names each way a sampler got worse', () => {
    const result = compareRuns(summaryWith(100, 50, 0), summaryWith(150, 40, 5), thresholds);
    expect(result.regressed).toBe(true);
    expect(result.changes.find((c) => c.label === 'api')?.regressions).toEqual([
      'p95 100 -> 150 ms (+50%)',
      'throughput 50 -> 40/s (-20%)',
      'errors 0% -> 5% (+5 points)',
    ]);
  });

  it('does not fail on a sampler only one run has', () => {
    const other = summaryWith(100, 50, 0);
    const renamed: BenchSummary = { ...other, samplers: [{ ...other.samplers[0]!, label: 'new' }] };
    const result = compareRuns(other, renamed, thresholds);
    expect(result.changes.map((c) => [c.label, c.regressions.length])).toEqual([
      ['api', 0],
      ['new', 0],
      ['TOTAL', 0],
    ]);
  });
});

describe('loadTests in the schema', () => {
  it('resolves a plan target through its router at the route prefix, or directly', async () => {
    const { file, messages } = await stack();
    expect(messages).toEqual([]);
    const model = resolveEnvironment(file as StackFile, 'proxied');
    const tests = file?.loadTests;
    // The router without a port entry listens where the generated nginx.conf does.
    expect(resolveLoadTarget(tests?.plans['health']?.target, model, undefined)).toMatchObject({
      host: 'proxy',
      port: 80,
      base: '',
      service: 'proxy',
    });
    expect(resolveLoadTarget(tests?.plans['web']?.target, model, undefined)).toMatchObject({
      host: 'proxy',
      port: 80,
      base: '/web',
      label: 'proxy -> web (/web/)',
    });
    expect(resolveLoadTarget(tests?.plans['web']?.target, model, 'web')).toMatchObject({
      host: 'web',
      port: 8080,
      base: '',
    });
    expect(resolveLoadTarget(undefined, model, 'https://example.test/api/')).toMatchObject({
      scheme: 'https',
      host: 'example.test',
      port: 443,
      base: '/api',
      service: undefined,
    });
    expect(() => resolveLoadTarget(undefined, model, 'nope')).toThrow(/proxied does not run/);
    expect(routeRows(model)).toEqual([['web', '/web/health']]);
  });

  it('chooses a named plan, else a .jmx file, else refuses', async () => {
    const { file } = await stack();
    const tests = file?.loadTests;
    if (!tests) throw new Error('no loadTests');
    expect(choosePlan(tests, undefined)).toEqual({
      name: 'health',
      schemaPlan: 'health',
      file: 'health.jmx',
    });
    expect(choosePlan(tests, 'plans/mine.jmx')).toEqual({
      name: 'mine',
      schemaPlan: undefined,
      file: 'plans/mine.jmx',
    });
    expect(() => choosePlan(tests, 'nope')).toThrow(/no load test plan "nope"/);
  });

  it('refuses unknown environments and services, a secret in a property, a plain variable as a secret', async () => {
    const { messages } = await stack(
      [
        'loadTests:',
        '  environment: nowhere',
        '  service: jmeter',
        '  folder: jmeter',
        '  defaultPlan: missing',
        '  plans:',
        '    a:',
        '      file: a.jmx',
        '      target: { service: ghost, via: proxy }',
        "      properties: { key: 'Bearer ${DB_PASSWORD}' }",
        '      secrets: { other: WEB_PORT }',
        'firstRun:',
      ].join('\n'),
    );
    expect(messages).toEqual(
      expect.arrayContaining([
        'loadTests runs JMeter in "nowhere", which is not an environment',
        'the default plan "missing" is not one of loadTests.plans',
        'a load test targets "ghost", which is not a service',
        'the plan "a" passes WEB_PORT as a secret, but it is not a secret variable',
        'the plan "a" puts the secret DB_PASSWORD in a property',
      ]),
    );
  });

  it('writes JMeter properties escaped, secrets among them, and the results columns the summary reads', () => {
    const text = jmeterProperties(
      { scheme: 'http', host: 'nginx', port: 80, base: '/llm', service: 'nginx', label: '' },
      { users: 3, durationSeconds: 30, rampSeconds: 5 },
      { prompt: 'Say: "hi"\nthen = stop', model: '${MODEL}' },
      new Map([['api.key', 'sk-a\\b#c']]),
      new Map([['MODEL', 'qwen']]),
      '/run/stackctl/routes.csv',
    );
    const lines = text.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'target.base=/llm',
        'users=3',
        'duration=30',
        'ramp=5',
        'prompt=Say: "hi"\\nthen = stop',
        'model=qwen',
        'api.key=sk-a\\\\b#c',
        'jmeter.save.saveservice.output_format=csv',
        'jmeter.save.saveservice.print_field_names=true',
      ]),
    );
  });
});

describe('bench --llm measures', () => {
  it('splits server-sent events across reads and reads content, usage and errors', () => {
    const first = takeEvents('data: {"choices":[{"delta":{"content":"He"}}]}\n\ndata: {"choi');
    expect(first.events.map((e) => e.content)).toEqual(['He']);
    const second = takeEvents(
      `${first.rest}ces":[{"delta":{"content":"llo"}}]}\r\n\r\ndata: {"choices":[],"usage":{"completion_tokens":2}}\n\ndata: {"error":{"message":"overloaded"}}\n\ndata: [DONE]\n\n`,
    );
    expect(second.events).toEqual([
      { content: 'llo', completionTokens: undefined, done: false, error: undefined },
      { content: '', completionTokens: 2, done: false, error: undefined },
      { content: '', completionTokens: undefined, done: false, error: 'overloaded' },
      { content: '', completionTokens: undefined, done: true, error: undefined },
    ]);
    expect(second.rest).toBe('');
  });

  it('times content by the read it arrived in, and counts chunks when the server reports no usage', () => {
    const timing = timingOf({
      startedAt: 5,
      status: 200,
      totalMs: 90,
      error: undefined,
      reads: [
        { atMs: 10, text: 'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n' },
        { atMs: 40, text: 'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"choices":[{"del' },
        { atMs: 70, text: 'ta":{"content":"b"}}]}\n\n' },
        { atMs: 90, text: 'data: [DONE]\n\n' },
      ],
    });
    expect(timing).toMatchObject({ firstTokenMs: 40, chunkTimesMs: [70], outputTokens: 2, error: undefined });
    const empty = timingOf({
      startedAt: 0,
      status: 200,
      totalMs: 5,
      error: undefined,
      reads: [{ atMs: 5, text: 'data: [DONE]\n\n' }],
    });
    expect(empty.error).toBe('the stream carried no content');
  });

  it('computes TTFT, inter-token gaps and tokens per second from request timings', () => {
    const timing = (startedAt: number, first: number, chunks: number[], tokens: number): StreamTiming => ({
      startedAt,
      firstTokenMs: first,
      totalMs: chunks[chunks.length - 1] ?? first,
      chunkTimesMs: chunks,
      outputTokens: tokens,
      status: 200,
      error: undefined,
    });
    const failed: StreamTiming = {
      startedAt: 0,
      firstTokenMs: undefined,
      totalMs: 5,
      chunkTimesMs: [],
      outputTokens: 0,
      status: 401,
      error: 'HTTP 401',
    };
    const summary = summariseStreams(
      [timing(0, 100, [150, 200, 250], 4), timing(0, 300, [310, 320, 330], 4), failed],
      1000,
    );
    expect(summary.requests).toBe(3);
    expect(summary.failed).toBe(1);
    expect(summary.outputTokens).toBe(8);
    expect(summary.tokensPerSecond).toBe(8);
    expect(summary.ttftMs).toEqual({ p50: 100, p95: 300 });
    // Gaps: 50, 50, 50 and 10, 10, 10.
    expect(summary.itlMs).toEqual({ p50: 10, p95: 50 });
    // Decode rates: 3 tokens in 150 ms (20/s) and in 30 ms (100/s).
    expect(summary.requestTokensPerSecond.p50).toBe(20);
  });
});

describe('the shipped load tests', () => {
  it('target nginx in front of LiteLLM and the retrieval proxy, with plans that exist and read their key as a property', async () => {
    const text = readFileSync(join(REPO_ROOT, 'schemas', 'compose-schema.yaml'), 'utf8');
    const checked = await validateStackText(text, { fileName: 'compose-schema.yaml' });
    expect(checked.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const file = checked.file as StackFile;
    const tests = file.loadTests;
    if (!tests) throw new Error('the shipped schema declares no loadTests');
    const model = resolveEnvironment(file, 'production');
    expect(resolveLoadTarget(tests.plans['chat']?.target, model, undefined)).toMatchObject({
      host: 'nginx',
      port: 80,
      base: '/llm',
    });
    expect(resolveLoadTarget(tests.plans['retrieval']?.target, model, undefined)).toMatchObject({
      base: '/retrieval',
    });
    expect(resolveLoadTarget(tests.llm?.target, model, undefined)).toMatchObject({
      host: 'nginx',
      base: '/llm',
    });
    expect(routeRows(model)).toEqual(
      expect.arrayContaining([
        ['litellm', '/llm/health/liveliness'],
        ['retrieval-proxy', '/retrieval/health'],
        ['openwebui', '/health/db'],
      ]),
    );
    for (const plan of Object.values(tests.plans)) {
      const xml = readFileSync(join(REPO_ROOT, tests.folder, plan.file), 'utf8');
      expect(xml).toContain('<jmeterTestPlan');
      for (const property of Object.keys(plan.secrets ?? {})) expect(xml).toContain(`\${__P(${property})}`);
    }
  });
});

describe('the summary page', () => {
  it('escapes what a plan names, and marks samplers with errors', async () => {
    const summary = await summaryOf(
      [
        'timeStamp,elapsed,label,responseCode,responseMessage,success',
        '1000,5,<script>x</script>,500,"bad & worse",false',
        '1001,7,ok,200,OK,true',
        '',
      ].join('\n'),
    );
    const page = benchReportHtml({
      id: '20261207T101500Z-health',
      environment: 'staging',
      plan: 'health',
      target: 'nginx:80',
      startedAt: '2026-12-07T10:15:00.000Z',
      load: { users: 2, durationSeconds: 10, rampSeconds: 1 },
      image: 'justb4/jmeter:5.5',
      results: { volume: 'v', folder: 'f', dashboard: false },
      summary,
    });
    expect(page).not.toContain('<script>');
    expect(page).toContain(
      '<tr class="errors"><td>&lt;script&gt;x&lt;/script&gt;</td><td>1</td><td>1</td><td>100.0%</td>',
    );
    expect(page).toContain('<li>&lt;script&gt;x&lt;/script&gt;: 1 × 500 bad &amp; worse</li>');
    expect(page).toContain('<tr><td>ok</td><td>1</td><td>0</td><td>0.0%</td>');
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveEnvironment } from '../../src/model/environment.js';
import { allureResults, junitXml } from '../../src/plan/verify-report.js';
import { judgeCommand, judgeHttp, verifyChecksOf, type CheckResult } from '../../src/plan/verify.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { REPO_ROOT } from '../helpers/paths.js';

const appYaml = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'stacks', 'app.yaml'), 'utf8');

async function withVerify(checks: string): Promise<{ valid: boolean; file?: StackFile; messages: string[] }> {
  const text = appYaml.replace(
    '    route: { path: /web/, port: 8080 }\n',
    // A function: a replacement string would turn $$ into $.
    () => `    route: { path: /web/, port: 8080 }\n    verify:\n${checks}`,
  );
  const checked = await validateStackText(text, { fileName: 'app.yaml' });
  return {
    valid: checked.valid,
    ...(checked.valid ? { file: checked.file as StackFile } : {}),
    messages: checked.issues.map((issue) => issue.message),
  };
}

describe('verify: in the schema', () => {
  it('resolves variables, secrets in headers, and names each check', async () => {
    const { file, messages } = await withVerify(
      [
        "      - http: { port: 8080, path: '/${BIND_ADDRESS}', status: 204, headers: { Authorization: 'Bearer ${DB_PASSWORD}' } }",
        '      - { name: port open, tcp: { port: 8080 }, timeout: 2s }',
        "      - { command: ['sh', '-c', 'echo $$DB_PASSWORD'], contains: x }",
        '',
      ].join('\n'),
    );
    expect(messages).toEqual([]);
    const model = resolveEnvironment(file as StackFile, 'ok');
    const values = new Map([...model.values, ['DB_PASSWORD', 'hunter2hunter2']]);
    const checks = verifyChecksOf(model, values);
    expect(checks.map((check) => [check.service, check.index, check.name, check.timeoutMs])).toEqual([
      ['web', 1, 'GET :8080/127.0.0.1 → 204', 10_000],
      ['web', 2, 'port open', 2000],
      ['web', 3, 'sh -c echo $DB_PASSWORD', 10_000],
    ]);
    const http = checks[0]?.probe;
    expect(http?.kind === 'http' && http.headers['Authorization']).toBe('Bearer hunter2hunter2');
    expect(verifyChecksOf(model, values, ['db'])).toEqual([]);
  });

  it('refuses a secret passed to a verify command as an argument', async () => {
    const result = await withVerify("      - command: ['psql', '-c', 'x', '${DB_PASSWORD}']\n");
    expect(result.valid).toBe(false);
    expect(result.messages.join('\n')).toMatch(/passes the secret DB_PASSWORD as an argument/);
  });

  it('takes exactly one of http, tcp and command', async () => {
    expect((await withVerify('      - { tcp: { port: 1 }, command: [x] }\n')).valid).toBe(false);
    expect((await withVerify('      - { name: nothing }\n')).valid).toBe(false);
  });
});

describe('judging answers', () => {
  const http = {
    kind: 'http' as const,
    port: 80,
    path: '/',
    method: 'GET' as const,
    headers: {},
    body: undefined,
    status: undefined,
    contains: 'ready',
  };
  it('wants a 2xx unless a status is named, and the text asked for', () => {
    expect(judgeHttp(http, 200, 'all ready')).toBeUndefined();
    expect(judgeHttp(http, 302, 'all ready')).toBe('answered 302, expected 2xx');
    expect(judgeHttp(http, 200, 'starting')).toBe('the answer does not contain "ready": starting');
    expect(judgeHttp({ ...http, status: 401, contains: undefined }, 401, '')).toBeUndefined();
  });
  it('wants exit 0 from a command', () => {
    const command = { kind: 'command' as const, argv: ['x'], contains: undefined };
    expect(judgeCommand(command, 0, '')).toBeUndefined();
    expect(judgeCommand(command, 2, 'psql: connection refused\n')).toBe('exited 2: psql: connection refused');
  });
});

describe('reports', () => {
  const results: CheckResult[] = [
    {
      service: 'web',
      stack: 'app',
      name: 'GET :8080/ → 2xx',
      container: 'p-web-1',
      status: 'passed',
      detail: undefined,
      startedAt: 1000,
      durationMs: 12,
    },
    {
      service: 'db',
      stack: 'core',
      name: 'login <as> "app" & more',
      container: 'p-db-1',
      status: 'failed',
      detail: 'exited 2: FATAL: password authentication failed',
      startedAt: 1000,
      durationMs: 40,
    },
    {
      service: 'db',
      stack: 'core',
      name: 'tcp :5432',
      container: undefined,
      status: 'broken',
      detail: 'no running container',
      startedAt: 1000,
      durationMs: 0,
    },
  ];

  it('writes JUnit XML with a suite per service, failures and errors counted, text escaped', () => {
    const xml = junitXml('prod', results, new Date(0));
    expect(xml).toContain('<testsuites name="stackctl verify prod" tests="3" failures="1" errors="1"');
    expect(xml).toContain('<testsuite name="prod.db" tests="2" failures="1" errors="1" time="0.040">');
    expect(xml).toContain('name="login &lt;as&gt; &quot;app&quot; &amp; more [p-db-1]"');
    expect(xml).toContain('<error message="no running container">');
    expect(xml).toContain('<testcase classname="prod.web" name="GET :8080/ → 2xx [p-web-1]" time="0.012"/>');
  });

  it('writes one Allure result per check with status, timing and suite labels', () => {
    let n = 0;
    const files = allureResults('prod', results, () => `id-${String(++n)}`);
    expect(files.map((file) => file.file)).toEqual([
      'id-1-result.json',
      'id-2-result.json',
      'id-3-result.json',
    ]);
    const failed = JSON.parse(files[1]?.content ?? '') as Record<string, unknown>;
    expect(failed).toMatchObject({
      uuid: 'id-2',
      status: 'failed',
      stage: 'finished',
      start: 1000,
      stop: 1040,
      statusDetails: { message: 'exited 2: FATAL: password authentication failed' },
    });
    expect(failed['labels']).toContainEqual({ name: 'subSuite', value: 'db' });
  });
});

// Results of `stackctl verify` in the formats CI and the testing environment read: JUnit XML (one
// testsuite per service) and Allure results (one <uuid>-result.json per check, as Allure's own
// adapters write them: https://allurereport.org/docs/how-it-works-test-result-file/).
import type { CheckResult } from './verify.js';

export function junitXml(environment: string, results: readonly CheckResult[], at: Date): string {
  const byService = new Map<string, CheckResult[]>();
  for (const result of results)
    byService.set(result.service, [...(byService.get(result.service) ?? []), result]);
  const count = (list: readonly CheckResult[], status: CheckResult['status']): number =>
    list.filter((result) => result.status === status).length;
  const seconds = (ms: number): string => (ms / 1000).toFixed(3);
  const total = (list: readonly CheckResult[]): number => list.reduce((sum, r) => sum + r.durationMs, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="stackctl verify ${xml(environment)}" tests="${String(results.length)}" failures="${String(count(results, 'failed'))}" errors="${String(count(results, 'broken'))}" time="${seconds(total(results))}" timestamp="${at.toISOString()}">`,
  ];
  for (const [service, list] of byService) {
    lines.push(
      `  <testsuite name="${xml(`${environment}.${service}`)}" tests="${String(list.length)}" failures="${String(count(list, 'failed'))}" errors="${String(count(list, 'broken'))}" time="${seconds(total(list))}">`,
    );
    for (const result of list) {
      const name = result.container === undefined ? result.name : `${result.name} [${result.container}]`;
      const open = `    <testcase classname="${xml(`${environment}.${service}`)}" name="${xml(name)}" time="${seconds(result.durationMs)}"`;
      if (result.status === 'passed') {
        lines.push(`${open}/>`);
        continue;
      }
      const tag = result.status === 'failed' ? 'failure' : 'error';
      lines.push(
        `${open}>`,
        `      <${tag} message="${xml(result.detail ?? '')}">${xml(result.detail ?? '')}</${tag}>`,
        '    </testcase>',
      );
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/** One Allure result per check: file name and content. */
export function allureResults(
  environment: string,
  results: readonly CheckResult[],
  uuid: () => string,
): { readonly file: string; readonly content: string }[] {
  return results.map((result) => {
    const id = uuid();
    const fullName = `${environment}.${result.service}: ${result.name}${result.container === undefined ? '' : ` [${result.container}]`}`;
    const body = {
      uuid: id,
      historyId: fullName,
      testCaseId: fullName,
      name: result.name,
      fullName,
      status: result.status,
      stage: 'finished',
      ...(result.detail === undefined ? {} : { statusDetails: { message: result.detail } }),
      start: result.startedAt,
      stop: result.startedAt + result.durationMs,
      labels: [
        { name: 'suite', value: environment },
        { name: 'subSuite', value: result.service },
        { name: 'parentSuite', value: result.stack },
        { name: 'framework', value: 'stackctl verify' },
        ...(result.container === undefined ? [] : [{ name: 'host', value: result.container }]),
      ],
    };
    return { file: `${id}-result.json`, content: `${JSON.stringify(body, null, 2)}\n` };
  });
}

function xml(text: string): string {
  return (
    text
      .replaceAll('&', '&amp;')
      .replaceAll('<', '&lt;')
      .replaceAll('>', '&gt;')
      .replaceAll('"', '&quot;')
      // Control characters other than tab and newline are not allowed in XML 1.0.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  );
}

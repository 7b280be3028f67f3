import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { SCHEMA_FIXTURES } from '../helpers/paths.js';

interface Expectation {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

// Each broken schema states what it breaks in its header: `# expect: LINE MESSAGE-FRAGMENT`.
const brokenDir = join(SCHEMA_FIXTURES, 'broken');
const cases: Expectation[] = readdirSync(brokenDir)
  .filter((name) => name.endsWith('.yaml'))
  .sort()
  .map((name) => {
    const header = /^# expect: (\d+) (.+)$/m.exec(readFileSync(join(brokenDir, name), 'utf8'));
    if (!header) throw new Error(`${name} has no "# expect: LINE MESSAGE" header`);
    return { file: name, line: Number(header[1]), message: header[2] ?? '' };
  });

interface JsonIssue {
  severity: string;
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
  hint: string;
}

describe('the broken schema corpus', () => {
  it('has at least 25 cases, several of them YAML syntax errors', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    expect(cases.filter((c) => c.file.startsWith('yaml-')).length).toBeGreaterThanOrEqual(5);
  });

  it.each(cases)('$file: exit 2 with an error at line $line', async ({ file, line, message }) => {
    const path = join('test', 'fixtures', 'schemas', 'broken', file);
    const result = await runCli(['validate', '--schema', path, '--json']);
    expect(result.exitCode).toBe(2);
    const report = JSON.parse(result.stdout) as { valid: boolean; issues: JsonIssue[] };
    expect(report.valid).toBe(false);
    const errors = report.issues.filter((issue) => issue.severity === 'error');
    expect(errors.map((issue) => `${issue.line}: ${issue.message}`)).toContainEqual(
      expect.stringMatching(new RegExp(`^${line}: .*${escape(message)}`)),
    );
    for (const issue of report.issues) {
      expect(issue.file).toBe(path);
      expect(issue.column).toBeGreaterThan(0);
      expect(issue.hint).not.toBe('');
    }
  });

  it('the file they all derive from is valid', async () => {
    const result = await runCli(['validate', '--schema', 'test/fixtures/schemas/minimal.yaml', '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ valid: true, issues: [] });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { StackctlError } from '../errors.js';
import { compareIssues, type Finding, type Issue } from './issue.js';
import { parseFast } from './parse-fast.js';
import { RULES } from './rules/index.js';
import { checkShape } from './shape.js';
import { didYouMean } from './suggest.js';
import type { EnvironmentDef, StackFile } from './types.js';

/** What validation learned about one stack file. */
export interface ValidationResult {
  readonly valid: boolean;
  readonly issues: readonly Issue[];
  /** The parsed document, present only when it is valid (no errors; warnings allowed). */
  readonly file: StackFile | undefined;
}

export interface ValidateOptions {
  /** The file name shown in issues (relative to where the user stands). */
  readonly fileName: string;
  /** Restrict environment-specific checks to this environment. */
  readonly environment?: string | undefined;
}

/**
 * Parses and checks a stack file: YAML syntax, JSON Schema shape, then the semantic rules, and
 * reports every problem found. The fast parser handles the common, clean case; the file is parsed
 * again with source positions only when there is something to point at.
 */
export async function validateStackText(text: string, options: ValidateOptions): Promise<ValidationResult> {
  const fast = parseFast(text);
  if (fast.ok) {
    const findings = checkData(fast.data, options.environment);
    if (findings.length === 0) return { valid: true, issues: [], file: fast.data as StackFile };
  }
  const { parseWithPositions } = await import('./source.js');
  const source = parseWithPositions(text, options.fileName);
  if (source.hasSyntaxErrors) return finish([...source.syntaxIssues], undefined);
  const findings = checkData(source.data, options.environment);
  return finish([...source.syntaxIssues, ...findings.map((finding) => source.place(finding))], source.data);
}

function checkData(data: unknown, environment: string | undefined): Finding[] {
  const shapeFindings = checkShape(data);
  if (shapeFindings.length > 0) return shapeFindings;
  const file = data as StackFile;
  const environments = selectEnvironments(file, environment);
  const findings: Finding[] = [];
  for (const rule of RULES) rule({ file, environments, report: (finding) => findings.push(finding) });
  return findings;
}

function finish(issues: Issue[], data: unknown): ValidationResult {
  const unique = dedupe(issues).sort(compareIssues);
  const valid = unique.every((issue) => issue.severity !== 'error');
  return { valid, issues: unique, file: valid ? (data as StackFile) : undefined };
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.line}:${issue.column}:${issue.path}:${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function selectEnvironments(file: StackFile, name: string | undefined): [string, EnvironmentDef][] {
  const all = Object.entries(file.environments);
  if (name === undefined) return all;
  const chosen = all.filter(([envName]) => envName === name);
  if (chosen.length === 0) {
    throw new StackctlError('E_USAGE', `unknown environment "${name}"`, {
      hint: didYouMean(name, Object.keys(file.environments)),
    });
  }
  return chosen;
}

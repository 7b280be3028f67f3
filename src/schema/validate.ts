import { StackctlError } from '../errors.js';
import { compareIssues, type Finding, type Issue } from './issue.js';
import { RULES } from './rules/index.js';
import { checkShape } from './shape.js';
import { parseWithPositions } from './source.js';
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
 * reports every problem found, each where it is in the file. (Commands do not parse an unchanged
 * schema again: its result is kept by the digest of its text, effects/validation-cache.ts.)
 */
export function validateStackText(text: string, options: ValidateOptions): Promise<ValidationResult> {
  return Promise.resolve(validateStackSource(text, options));
}

function validateStackSource(text: string, options: ValidateOptions): ValidationResult {
  const source = parseWithPositions(text, options.fileName);
  if (source.hasSyntaxErrors) return finish([...source.syntaxIssues], undefined);
  const findings = checkData(source.data, options.environment);
  return finish([...source.syntaxIssues, ...findings.map((finding) => source.place(finding))], source.data);
}

function checkData(data: unknown, environment: string | undefined): Finding[] {
  const shapeFindings = checkShape(data);
  if (shapeFindings.length === 0) return runRules(data as StackFile, environment);
  // Every problem at once: the semantic rules also run over the parts that are well-formed, with
  // the malformed ones cut out (a misspelt key must not hide a misspelt dependency).
  const pruned = pruneMalformed(data, shapeFindings);
  if (!pruned) return shapeFindings;
  const mentionsCut = (finding: Finding): boolean =>
    [...pruned.cutNames].some((name) => finding.message.includes(`"${name}"`));
  return [...shapeFindings, ...runRules(pruned.data, environment).filter((finding) => !mentionsCut(finding))];
}

function runRules(file: StackFile, environment: string | undefined): Finding[] {
  const environments = selectEnvironments(file, environment);
  const findings: Finding[] = [];
  for (const rule of RULES) rule({ file, environments, report: (finding) => findings.push(finding) });
  return findings;
}

/** Sections whose entries are named things other parts refer to. */
const NAMED_SECTIONS = new Set([
  'services',
  'stacks',
  'volumes',
  'variables',
  'environments',
  'healthcheckTemplates',
  'gpuProfiles',
  'secretTypes',
]);

/**
 * The document without its malformed parts, shape-valid, or undefined when that cannot be had
 * (a top-level section itself is malformed). cutNames: named entries removed whole, so rule
 * findings about them ("unknown service") are not reported on top of the shape errors.
 */
function pruneMalformed(
  data: unknown,
  findings: readonly Finding[],
): { data: StackFile; cutNames: Set<string> } | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const copy = structuredClone(data) as Record<string, unknown>;
  const cutNames = new Set<string>();
  let current = findings;
  for (let round = 0; round < 5 && current.length > 0; round++) {
    // Cut each offending value (a named entry missing a required key goes whole); later sequence
    // items first, so cutting one does not move the others.
    const paths = current.map((finding) => finding.path).sort((a, b) => comparePaths(b, a));
    for (const path of paths) {
      if (path.length < 2) return undefined;
      if (path.length === 2 && NAMED_SECTIONS.has(String(path[0]))) cutNames.add(String(path[1]));
      removeAt(copy, path);
    }
    current = checkShape(copy);
  }
  return current.length === 0 ? { data: copy as unknown as StackFile, cutNames } : undefined;
}

function comparePaths(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

function removeAt(root: Record<string, unknown>, path: readonly (string | number)[]): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<string | number, unknown>)[key];
  }
  const last = path[path.length - 1];
  if (node === null || typeof node !== 'object' || last === undefined) return;
  if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
  else delete (node as Record<string | number, unknown>)[last];
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

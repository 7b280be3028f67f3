import { EXIT, ReportedFailure } from '../../errors.js';
import { readSchema } from '../../effects/schema-file.js';
import { displayPathOf, projectRoot } from '../../model/stack.js';
import { readSecretStore, secretStorePath } from '../../effects/secret-store.js';
import { secretStrengthChecks } from '../../preflight/secret-strength.js';
import type { StackFile } from '../../schema/types.js';
import type { Issue } from '../../schema/issue.js';
import { validateStackText, type ValidationResult } from '../../schema/validate.js';
import type { Colors } from '../../ui/colors.js';
import { printJson, printLine, type CommandContext } from '../context.js';

export interface ValidateFlags {
  schema?: string;
  env?: string;
  secrets?: boolean;
  json?: boolean;
}

export async function validateAction(flags: ValidateFlags, ctx: CommandContext): Promise<void> {
  const source = await readSchema(flags.schema, ctx.cwd);
  const checked = await validateStackText(source.text, {
    fileName: source.displayPath,
    environment: flags.env,
  });
  const result =
    flags.secrets === true && checked.file
      ? await withSecretIssues(checked, checked.file, projectRoot(source.path), flags.env, ctx.cwd)
      : checked;
  if (flags.json === true) {
    printJson(ctx.stdout, { valid: result.valid, issues: result.issues });
  } else {
    for (const issue of result.issues) printLine(ctx.stdout, formatIssue(issue, ctx.colors));
    printLine(ctx.stderr, summary(result, source.displayPath, ctx.colors));
  }
  if (!result.valid) throw new ReportedFailure(EXIT.usage);
}

/** Adds the stored secrets' problems (never their values) as issues of each store file. */
async function withSecretIssues(
  result: ValidationResult,
  file: StackFile,
  root: string,
  only: string | undefined,
  cwd: string,
): Promise<ValidationResult> {
  const issues = [...result.issues];
  for (const env of only === undefined ? Object.keys(file.environments) : [only]) {
    const store = await readSecretStore(root, env);
    if (!store) continue;
    for (const check of secretStrengthChecks(file, env, store)) {
      if (check.status === 'pass') continue;
      issues.push({
        severity: check.status === 'fail' ? 'error' : 'warning',
        file: displayPathOf(secretStorePath(root, env), cwd),
        line: 1,
        column: 1,
        path: `${env}.${check.id.replace(/^secrets\./, '')}`,
        message: check.message,
        hint: check.fix,
      });
    }
  }
  const valid = issues.every((issue) => issue.severity !== 'error');
  return { valid, issues, file: valid ? file : undefined };
}

/** `file:line:col path: message (hint)`, the form editors and CI logs turn into links. */
export function formatIssue(issue: Issue, colors: Colors): string {
  const where = colors.bold(`${issue.file}:${issue.line}:${issue.column}`);
  const label = issue.severity === 'warning' ? colors.yellow('warning: ') : '';
  const hint = issue.hint === '' ? '' : colors.dim(` (${issue.hint})`);
  return `${where} ${colors.cyan(issue.path)}: ${label}${issue.message}${hint}`;
}

function summary(result: ValidationResult, fileName: string, colors: Colors): string {
  const errors = result.issues.filter((issue) => issue.severity === 'error').length;
  const warnings = result.issues.length - errors;
  const warningText = warnings === 0 ? '' : `, ${plural(warnings, 'warning')}`;
  if (!result.valid) return colors.red(`✖ ${fileName}: ${plural(errors, 'error')}${warningText}`);
  const file = result.file;
  const counts = file
    ? ` (${plural(Object.keys(file.services).length, 'service')}, ${plural(Object.keys(file.environments).length, 'environment')})`
    : '';
  return colors.green(`✔ ${fileName} is valid${counts}${warningText}`);
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

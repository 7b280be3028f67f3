import { EXIT, ReportedFailure } from '../../errors.js';
import { validateProject } from '../../lifecycle/validation.js';
import type { Issue } from '../../schema/issue.js';
import type { ValidationResult } from '../../schema/validate.js';
import type { Colors } from '../../ui/colors.js';
import { printJson, printLine, type CommandContext } from '../context.js';

export interface ValidateFlags {
  schema?: string;
  env?: string;
  secrets?: boolean;
  json?: boolean;
}

export async function validateAction(flags: ValidateFlags, ctx: CommandContext): Promise<void> {
  const { result, displayPath } = await validateProject(
    { schemaFlag: flags.schema, environment: flags.env, secrets: flags.secrets === true },
    ctx,
  );
  if (flags.json === true) {
    printJson(ctx.stdout, { valid: result.valid, issues: result.issues });
  } else {
    for (const issue of result.issues) printLine(ctx.stdout, formatIssue(issue, ctx.colors));
    printLine(ctx.stderr, summary(result, displayPath, ctx.colors));
  }
  if (!result.valid) throw new ReportedFailure(EXIT.usage);
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

import { assessForCi } from '../../lifecycle/preflight-ci.js';
import type { Issue } from '../../schema/issue.js';
import { printLine, type CommandContext } from '../context.js';
import { report, type PreflightFlags } from './preflight-report.js';

/**
 * `preflight --ci`: what a CI runner without GPU or Docker engine can check: the schema, and that no
 * generated secret is tracked or exposed. Problems are also printed as GitHub Actions annotations.
 */
export async function runCiChecks(
  envName: string,
  flags: PreflightFlags,
  ctx: CommandContext,
): Promise<void> {
  const { issues, checks } = await assessForCi(envName, flags.schema, ctx);
  const annotations: string[] = issues.map(annotation);
  for (const check of checks) {
    if (check.status === 'pass' || check.id === 'schema') continue;
    annotations.push(
      `::${check.status === 'fail' ? 'error' : 'warning'} title=stackctl ${check.id}::${escapeData(`${check.message} (fix: ${check.fix})`)}`,
    );
  }
  if (flags.json !== true) for (const line of annotations) printLine(ctx.stdout, line);
  report(envName, [...checks], flags, ctx, 'ci');
}

function annotation(issue: Issue): string {
  const level = issue.severity === 'error' ? 'error' : 'warning';
  const props = `file=${escapeProperty(issue.file)},line=${issue.line},col=${issue.column},title=${escapeProperty(issue.path)}`;
  const hint = issue.hint === '' ? '' : ` (${issue.hint})`;
  return `::${level} ${props}::${escapeData(`${issue.message}${hint}`)}`;
}

// GitHub's workflow-command escaping: data escapes %, CR, LF; properties also : and ,.
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

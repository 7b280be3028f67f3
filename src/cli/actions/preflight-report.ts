import { EXIT, ReportedFailure } from '../../errors.js';
import type { Check } from '../../preflight/checks.js';
import type { GpuMode } from '../../plan/gpu-layout.js';
import type { Colors } from '../../ui/colors.js';
import { printJson, printLine, type CommandContext } from '../context.js';

export interface PreflightFlags {
  gpu?: GpuMode;
  /** Check ids (or their prefix) reported as skipped instead of failing. */
  skipCheck?: string[];
  schema?: string;
  json?: boolean;
  ci?: boolean;
}

export function report(
  envName: string,
  checks: readonly Check[],
  flags: { json?: boolean },
  ctx: CommandContext,
  scope: 'host' | 'ci' = 'host',
): void {
  const ok = checks.every((check) => check.status !== 'fail');
  if (flags.json === true) {
    printJson(ctx.stdout, { environment: envName, ok, checks });
  } else {
    for (const line of formatChecks(checks, ctx.colors)) printLine(ctx.stdout, line);
    printLine(ctx.stdout, summary(envName, checks, ctx.colors, scope));
  }
  if (!ok) throw new ReportedFailure(EXIT.preflight);
}

/** Checks as preflight prints them, aligned: one line each, and a fix line under each problem. */
export function formatChecks(checks: readonly Check[], colors: Colors): string[] {
  const width = Math.max(...checks.map((check) => check.id.length));
  return checks.map((check) => formatCheck(check, width, colors));
}

const MARKS = { pass: '✔', warn: '⚠', fail: '✖' } as const;

function formatCheck(check: Check, width: number, colors: Colors): string {
  const paint = check.status === 'pass' ? colors.green : check.status === 'warn' ? colors.yellow : colors.red;
  const line = `${paint(MARKS[check.status])} ${check.id.padEnd(width)}  ${check.message}`;
  return check.status === 'pass' || check.fix === ''
    ? line
    : `${line}\n  ${' '.repeat(width)}  ${colors.dim('fix:')} ${check.fix}`;
}

function summary(envName: string, checks: readonly Check[], colors: Colors, scope: 'host' | 'ci'): string {
  const failed = checks.filter((check) => check.status === 'fail').length;
  const warned = checks.filter((check) => check.status === 'warn').length;
  const warnText = warned === 0 ? '' : `, ${warned} warning${warned === 1 ? '' : 's'}`;
  // --ci checks what a CI runner can: the schema and the repository, never the host.
  const passed =
    scope === 'ci'
      ? `${checks.length} CI checks passed (${[...new Set(checks.map((check) => check.id.split('.')[0]))].join(', ')}); the host was not checked: run stackctl preflight ${envName} on it`
      : 'host is ready';
  return failed === 0
    ? colors.green(`✔ ${envName}: ${passed}${warnText}`)
    : colors.red(`✖ ${envName}: ${failed} check${failed === 1 ? '' : 's'} failed${warnText}`);
}

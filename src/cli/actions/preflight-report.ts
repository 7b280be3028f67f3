import { EXIT, ReportedFailure } from '../../errors.js';
import type { Check } from '../../preflight/checks.js';
import type { GpuMode } from '../../plan/gpu-layout.js';
import type { Colors } from '../../ui/colors.js';
import { wrapWords } from '../../ui/wrap.js';
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
    for (const line of formatChecks(checks, ctx.colors, terminalColumns(ctx.stdout)))
      printLine(ctx.stdout, line);
    printLine(ctx.stdout, summary(envName, checks, ctx.colors, scope));
  }
  if (!ok) throw new ReportedFailure(EXIT.preflight);
}

/** The width of a terminal to wrap to; 0 (no wrapping) when it is not one, or says none. */
export function terminalColumns(stream: unknown): number {
  const { isTTY, columns } = stream as { isTTY?: boolean; columns?: number };
  return isTTY === true && typeof columns === 'number' && columns > 0 ? columns : 0;
}

/**
 * Checks as preflight prints them, aligned: a line each, and a fix line under each problem. On a
 * terminal (columns > 0) long messages and fixes wrap at spaces, continued under their own text.
 */
export function formatChecks(checks: readonly Check[], colors: Colors, columns = 0): string[] {
  const width = Math.max(...checks.map((check) => check.id.length));
  return checks.map((check) => formatCheck(check, width, colors, columns));
}

const MARKS = { pass: '✔', warn: '⚠', fail: '✖' } as const;

function formatCheck(check: Check, width: number, colors: Colors, columns: number): string {
  const paint = check.status === 'pass' ? colors.green : check.status === 'warn' ? colors.yellow : colors.red;
  const indent = ' '.repeat(width + 4);
  const wrap = (text: string, lead: number): string[] =>
    wrapWords(text, columns > 0 ? Math.max(20, columns - lead - 1) : 0);
  const [first = '', ...rest] = wrap(check.message, width + 4);
  const lines = [
    `${paint(MARKS[check.status])} ${check.id.padEnd(width)}  ${first}`,
    ...rest.map((l) => indent + l),
  ];
  if (check.status !== 'pass' && check.fix !== '') {
    const [fixFirst = '', ...fixRest] = wrap(check.fix, width + 9);
    lines.push(`${indent}${colors.dim('fix:')} ${fixFirst}`, ...fixRest.map((l) => `${indent}     ${l}`));
  }
  return lines.join('\n');
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

import { resolve } from 'node:path';
import { ReportedFailure, EXIT } from '../../errors.js';
import { readTestReport } from '../../lifecycle/test-reports.js';
import { verifyEnvironment } from '../../lifecycle/verify.js';
import type { CheckResult } from '../../plan/verify.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export interface VerifyFlags {
  service: string[];
  junit?: string;
  /** A folder, or true: the testing environment's results volume. */
  allure?: string | true;
  schema?: string;
  json?: boolean;
}

export interface TestReportFlags {
  schema?: string;
  json?: boolean;
}

export async function verifyAction(env: string, flags: VerifyFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const outcome = await verifyEnvironment(
    stack,
    {
      envName: env,
      services: flags.service,
      junitFile: flags.junit === undefined ? undefined : resolve(ctx.cwd, flags.junit),
      allure:
        flags.allure === undefined
          ? undefined
          : flags.allure === true
            ? { into: 'testing-volume' }
            : { into: 'folder', path: resolve(ctx.cwd, flags.allure) },
    },
    ctx,
    { checked: (result) => flags.json !== true && printLine(ctx.stdout, resultLine(result, ctx)) },
  );
  if (flags.json === true) printJson(ctx.stdout, outcome);
  else {
    const failed = outcome.results.filter((result) => result.status !== 'passed').length;
    if (outcome.unchecked.length > 0)
      printLine(ctx.stdout, ctx.colors.dim(`no checks declared: ${outcome.unchecked.join(', ')}`));
    for (const path of outcome.written) printLine(ctx.stderr, `Wrote ${path}`);
    printLine(
      ctx.stdout,
      outcome.results.length === 0
        ? `${env} declares no checks (add verify: to its services)`
        : failed === 0
          ? `${ctx.colors.green('✔')} ${String(outcome.results.length)} checks passed`
          : `${ctx.colors.red('✖')} ${String(failed)} of ${String(outcome.results.length)} checks did not pass`,
    );
  }
  if (!outcome.passed) throw new ReportedFailure(EXIT.runtime);
}

function resultLine(result: CheckResult, ctx: CommandContext): string {
  const mark =
    result.status === 'passed'
      ? ctx.colors.green('✔')
      : result.status === 'failed'
        ? ctx.colors.red('✖')
        : ctx.colors.yellow('!');
  const where = result.container ?? result.service;
  const ms = `${String(result.durationMs)} ms`;
  return `${mark} ${where.padEnd(24)} ${result.name}  ${ctx.colors.dim(ms)}${result.detail === undefined ? '' : `\n    ${result.detail}`}`;
}

export async function testReportAction(
  env: string,
  flags: TestReportFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const report = await readTestReport(stack, env, ctx);
  if (flags.json === true) printJson(ctx.stdout, report);
  else {
    const counts = Object.entries(report.results.byStatus)
      .map(([status, count]) => `${String(count)} ${status}`)
      .join(', ');
    printLine(
      ctx.stdout,
      report.results.total === 0
        ? `no results of ${env} yet: stackctl verify ${env} --allure`
        : `${String(report.results.total)} results of ${env} (${counts}), newest ${report.results.latest ?? '-'}, in the volume ${report.volume}`,
    );
    printLine(
      ctx.stdout,
      report.url === undefined
        ? `${report.service} of ${report.environment} publishes no port for the report`
        : `Report: ${report.url}${report.running ? '' : ctx.colors.yellow(` (${report.service} is not running: stackctl start ${report.environment})`)}`,
    );
  }
  if (!report.running) throw new ReportedFailure(EXIT.runtime);
}

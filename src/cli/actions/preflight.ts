import { effectiveReader } from '../../lifecycle/effective-config.js';
import { assessHost } from '../../lifecycle/preflight.js';
import { resolveRun } from '../../lifecycle/run.js';
import type { CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { runCiChecks } from './preflight-ci.js';
import { report, type PreflightFlags } from './preflight-report.js';

export async function preflightAction(
  envName: string,
  flags: PreflightFlags,
  ctx: CommandContext,
): Promise<void> {
  if (flags.ci === true) {
    await runCiChecks(envName, flags, ctx);
    return;
  }
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const assessment = await assessHost(await resolveRun(stack, { envName, gpu: flags.gpu }), ctx, {
    skipChecks: flags.skipCheck ?? [],
    readEffective: effectiveReader(stack, ctx),
  });
  report(envName, assessment.checks, flags, ctx);
}

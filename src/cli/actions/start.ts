import { EXIT, ReportedFailure, StackctlError } from '../../errors.js';
import { durationMs } from '../../duration.js';
import type { LoadedStack } from '../../model/stack.js';
import { STABLE_MS } from '../../health/classify.js';
import { lookUpEngine, startEnvironment, type StartRequest } from '../../lifecycle/start.js';
import type { CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { report } from './preflight-report.js';
import { explainFailure, printDryRun, printSummary, startView, type StartFlags } from './start-report.js';

export type { StartFlags } from './start-report.js';

/** How another command (restore, reset, rotate) runs start as a step of its own. */
export interface StartOptions {
  /** The caller holds the environment's lock. */
  readonly lockHeld?: boolean;
  /** The caller checked what it needs: no preflight, and no warning that it was skipped. */
  readonly withoutPreflight?: boolean;
  /** The stack the caller loaded already. */
  readonly stack?: LoadedStack;
}

export async function startAction(
  envName: string,
  flags: StartFlags,
  ctx: CommandContext,
  options: StartOptions = {},
): Promise<void> {
  const dryRun = flags.dryRun === true;
  const engine = dryRun ? undefined : lookUpEngine(ctx.env);
  const stack = options.stack ?? (await loadStack(flags.schema, ctx));
  requireEnvironment(stack.file, envName);
  const request: StartRequest = {
    envName,
    stacks: flags.stack,
    services: flags.service,
    ...(flags.gpu ? { gpu: flags.gpu } : {}),
    timeoutMs: parseDuration('--timeout', flags.timeout),
    settleMs: flags.settle === undefined ? STABLE_MS : parseDuration('--settle', flags.settle),
    wait: flags.wait,
    preflight: options.withoutPreflight === true ? 'caller' : flags.skipPreflight === true ? 'skip' : 'run',
    ...(flags.skipCheck && flags.skipCheck.length > 0 ? { skipChecks: flags.skipCheck } : {}),
    dryRun,
    ...(options.lockHeld === true ? { lockHeld: true } : {}),
  };
  if (flags.swarm === true) {
    const { startSwarmAction } = await import('./swarm.js');
    await startSwarmAction(stack, flags, request, ctx);
    return;
  }
  const view = startView(envName, flags, ctx);
  const outcome = await startEnvironment(stack, request, engine, ctx, view);
  switch (outcome.kind) {
    case 'preflight-failed':
      report(envName, outcome.findings, { json: flags.json }, ctx);
      return;
    case 'planned':
      printDryRun(
        outcome.plan,
        outcome.files,
        outcome.model,
        ctx,
        flags.json === true,
        flags.wait,
        outcome.findings,
      );
      if (outcome.findings.some((check) => check.status === 'fail'))
        throw new ReportedFailure(EXIT.preflight);
      return;
    case 'failed':
      if (outcome.failure)
        explainFailure(
          envName,
          outcome.failure,
          outcome.diagnosis ?? { container: undefined, lastHealthcheck: undefined, logs: [] },
          outcome.results,
          flags,
          ctx,
          outcome.findings,
          outcome.leftDown,
        );
      throw new ReportedFailure(EXIT.runtime);
    case 'started':
      printSummary(envName, outcome.model, outcome.results, flags, ctx, outcome.elapsedMs, outcome.findings);
  }
}

export function parseDuration(flag: string, text: string): number {
  // A bare number is seconds; otherwise the compose duration syntax the schema uses too.
  try {
    return /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) * 1000 : durationMs(text);
  } catch {
    throw new StackctlError('E_USAGE', `${flag} "${text}" is not a duration`, {
      hint: 'write it as 90s, 1m30s, 10m or 1h',
    });
  }
}

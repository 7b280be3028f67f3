import { EXIT, ReportedFailure } from '../../errors.js';
import type { LoadedStack } from '../../model/stack.js';
import { startOnSwarm, type SwarmServiceResult } from '../../lifecycle/swarm.js';
import { lookUpEngine, type StartRequest } from '../../lifecycle/start.js';
import { table } from '../../ui/table.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { report } from './preflight-report.js';
import { startView, type StartFlags } from './start-report.js';

/** `start ENV --swarm`: the environment as a swarm stack, deployed in graph order and waited on. */
export async function startSwarmAction(
  stack: LoadedStack,
  flags: StartFlags,
  request: StartRequest,
  ctx: CommandContext,
): Promise<void> {
  const { envName } = request;
  const view = startView(envName, flags, ctx);
  const outcome = await startOnSwarm(stack, request, lookUpEngine(ctx.env), ctx, view);
  switch (outcome.kind) {
    case 'preflight-failed':
      report(envName, outcome.findings, { json: flags.json }, ctx);
      return;
    case 'planned': {
      const order = outcome.plan.graph.map((node) => ({
        service: node.service,
        stack: node.stack,
        waitsFor: node.waitsFor,
      }));
      if (flags.json === true) {
        printJson(ctx.stdout, {
          environment: envName,
          swarm: true,
          stack: outcome.stack.name,
          stackFile: outcome.stackFile,
          secrets: outcome.stack.secrets.map((secret) => secret.name),
          fromEnvironment: outcome.stack.interpolated,
          graph: order,
          notes: outcome.stack.notes,
          preflight: outcome.findings,
        });
      } else {
        printLine(
          ctx.stdout,
          `Plan for ${envName} on the swarm (stack ${outcome.stack.name}); nothing is changed:`,
        );
        printLine(ctx.stdout, `  stack file: ${outcome.stackFile}`);
        printLine(
          ctx.stdout,
          `  Docker secrets: ${outcome.stack.secrets.map((secret) => secret.name).join(', ') || 'none'}`,
        );
        printLine(ctx.stdout, '  deploy each service once what it waits for is ready:');
        for (const node of order)
          printLine(
            ctx.stdout,
            `    [${node.stack}] ${node.service.padEnd(20)} ${
              node.waitsFor.length === 0
                ? 'at once'
                : `after ${node.waitsFor.map((dep) => dep.service).join(', ')}`
            }`,
          );
        for (const note of outcome.stack.notes) printLine(ctx.stdout, `  note: ${note}`);
      }
      if (outcome.findings.some((check) => check.status === 'fail'))
        throw new ReportedFailure(EXIT.preflight);
      return;
    }
    case 'started':
    case 'failed':
      printSwarmOutcome(
        envName,
        outcome.kind === 'started',
        outcome.results,
        outcome.failure,
        outcome.failureLogs ?? [],
        outcome.elapsedMs,
        flags,
        ctx,
      );
      if (outcome.kind === 'failed') throw new ReportedFailure(EXIT.runtime);
  }
}

function printSwarmOutcome(
  envName: string,
  ok: boolean,
  results: readonly SwarmServiceResult[],
  failure: SwarmServiceResult | undefined,
  logs: readonly string[],
  elapsedMs: number,
  flags: StartFlags,
  ctx: CommandContext,
): void {
  const rows = results.map((result) => ({
    name: result.service,
    phase: result.state.phase,
    reason: result.state.phase === 'failed' ? result.state.reason : null,
    detail: result.state.detail,
    readyAfterSeconds: result.state.phase === 'ready' ? Number((result.elapsedMs / 1000).toFixed(1)) : null,
  }));
  if (flags.json === true) {
    printJson(ctx.stdout, {
      environment: envName,
      swarm: true,
      ok,
      seconds: Number((elapsedMs / 1000).toFixed(1)),
      ...(failure && failure.state.phase === 'failed'
        ? {
            failed: { service: failure.service, reason: failure.state.reason, detail: failure.state.detail },
            logs,
          }
        : {}),
      services: rows,
    });
    return;
  }
  if (failure) {
    printLine(ctx.stderr, ctx.colors.red(`✖ ${failure.service}: ${failure.state.detail}`));
    if (logs.length > 0) {
      printLine(ctx.stderr, `  last ${logs.length} log lines of its tasks:`);
      for (const line of logs) printLine(ctx.stderr, `    ${line}`);
    }
    printLine(ctx.stderr, `  all of its tasks' output: stackctl logs ${envName} ${failure.service}`);
    printLine(
      ctx.stderr,
      `  The stack is left deployed for inspection. Stop it with: stackctl stop ${envName}`,
    );
    return;
  }
  if (rows.length > 0)
    for (const line of table(
      [['SERVICE', 'STATE', 'DETAIL'], ...rows.map((row) => [row.name, row.phase, row.detail])],
      ctx.colors.bold,
    ))
      printLine(ctx.stdout, line);
  printLine(
    ctx.stdout,
    ctx.colors.green(
      rows.length > 0
        ? `✔ ${envName} is running on the swarm (${(elapsedMs / 1000).toFixed(1)}s)`
        : `✔ ${envName} deployed to the swarm (not waited for)`,
    ),
  );
}

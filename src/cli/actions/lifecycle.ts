import { StackctlError } from '../../errors.js';
import { durationMs } from '../../duration.js';
import { didYouMean } from '../../schema/suggest.js';
import type { StoppedContainer } from '../../lifecycle/stop.js';
import { restartEnvironment, stopEnvironment, type StopView } from '../../lifecycle/stop-environment.js';
import { streamLogs } from '../../lifecycle/logs.js';
import type { LoadedStack } from '../../model/stack.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { startAction, type StartFlags } from './start.js';
import { formatChecks, report, terminalColumns } from './preflight-report.js';

export interface StopFlags {
  stack: string[];
  timeout?: string;
  schema?: string;
  json?: boolean;
  /** Every environment of the project (the seeds' stop-all). */
  all?: boolean;
}

/** Stops an environment's containers (or, with --all, every environment's) in the start graph's reverse order; nothing is removed. */
export async function stopAction(
  envName: string | undefined,
  flags: StopFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  if (flags.all === true && envName !== undefined)
    throw new StackctlError('E_USAGE', 'give an environment or --all, not both', {
      hint: 'stackctl stop --all',
    });
  if (envName === undefined && flags.all !== true)
    throw new StackctlError('E_USAGE', 'which environment? name it, or pass --all', {
      hint: `environments: ${Object.keys(stack.file.environments).join(', ')}`,
    });
  const seconds = flags.timeout === undefined ? undefined : Number(flags.timeout);
  if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 0)) {
    throw new StackctlError('E_USAGE', `--timeout "${flags.timeout}" is not a whole number of seconds`, {
      hint: 'use -t 30',
    });
  }
  const names = envName === undefined ? Object.keys(stack.file.environments) : [envName];
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const reports = [];
  for (const name of names) reports.push(await stopOne(stack, name, flags, seconds, ctx));
  if (flags.json === true) {
    printJson(ctx.stdout, envName === undefined ? { environments: reports } : reports[0]);
    return;
  }
  if (envName === undefined && reports.every((r) => r.stopped.length === 0 && r.swarmServices.length === 0))
    printLine(ctx.stdout, 'nothing running in any environment');
}

interface StopReportJson {
  environment: string;
  stopped: string[];
  containers: { name: string; service: string; seconds: number; exitCode?: number; killed?: string }[];
  swarmServices: string[];
}

async function stopOne(
  stack: LoadedStack,
  envName: string,
  flags: StopFlags,
  seconds: number | undefined,
  ctx: CommandContext,
): Promise<StopReportJson> {
  const say = (line: string): void => {
    if (flags.json !== true) printLine(ctx.stderr, line);
  };
  const { stopped, swarmStopped } = await stopEnvironment(
    stack,
    envName,
    { stacks: flags.stack, ...(seconds === undefined ? {} : { seconds }) },
    ctx,
    stopView(say, ctx),
  );
  if (flags.json !== true) printStopSummary(envName, stopped, swarmStopped, flags.all === true, ctx);
  return {
    environment: envName,
    stopped: stopped.map((c) => c.name),
    containers: stopped.map((c) => ({
      name: c.name,
      service: c.service,
      seconds: Math.round(c.elapsedMs / 100) / 10,
      ...(c.exitCode === undefined ? {} : { exitCode: c.exitCode }),
      ...(c.killed ? { killed: c.killed.why } : {}),
    })),
    swarmServices: [...swarmStopped],
  };
}

function stopView(say: (line: string) => void, ctx: CommandContext): StopView {
  return {
    stopping: (service) => say(`Stopping ${service}`),
    stopped: (container) => say(`  ${stoppedLine(container, ctx)}`),
    swarmStopping: (services) => say(`Stopping swarm services ${services.join(', ')}`),
  };
}

/** `stopped web-1 in 0.4s (exit 0)`, or `killed web-1 after its 10s grace period: why`. */
function stoppedLine(container: StoppedContainer, ctx: CommandContext): string {
  const took = `${(container.elapsedMs / 1000).toFixed(1)}s`;
  if (container.killed?.graceSeconds === 0) return `killed ${container.name} at once (-t 0)`;
  if (container.killed)
    return ctx.colors.yellow(
      `killed ${container.name} after its ${container.killed.graceSeconds}s grace period (${took}): ${container.killed.why}`,
    );
  return `stopped ${container.name} in ${took}${container.exitCode === undefined ? '' : ` (exit ${container.exitCode})`}`;
}

function printStopSummary(
  envName: string,
  stopped: readonly StoppedContainer[],
  swarmStopped: readonly string[],
  quietWhenIdle: boolean,
  ctx: CommandContext,
): void {
  if (stopped.length === 0 && swarmStopped.length === 0) {
    if (!quietWhenIdle) printLine(ctx.stdout, `${envName}: nothing running`);
    return;
  }
  if (stopped.length > 0) {
    const killed = stopped.filter((c) => c.killed).length;
    printLine(
      ctx.stdout,
      `✔ stopped ${stopped.length} container${stopped.length === 1 ? '' : 's'} of ${envName}` +
        (killed === 0 ? '' : ` (${killed} killed after the grace period: see above)`),
    );
  }
  if (swarmStopped.length > 0)
    printLine(
      ctx.stdout,
      `✔ scaled ${swarmStopped.length} swarm service${swarmStopped.length === 1 ? '' : 's'} of ${envName} to 0 (start --swarm brings them back)`,
    );
}

/**
 * Checks the host first (nothing is stopped when the start could not follow), then stops the
 * selection, saying what, and starts it again through the normal start (generate, wait).
 */
export async function restartAction(envName: string, flags: StartFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const say = (line: string): void => {
    if (flags.json !== true) printLine(ctx.stderr, line);
  };
  const checked = flags.skipPreflight !== true && flags.dryRun !== true;
  await restartEnvironment(
    stack,
    {
      envName,
      stacks: flags.stack,
      services: flags.service,
      ...(flags.gpu ? { gpu: flags.gpu } : {}),
      checkHost: checked,
      skipChecks: flags.skipCheck ?? [],
      swarm: flags.swarm === true,
      dryRun: flags.dryRun === true,
    },
    ctx,
    {
      ...stopView(say, ctx),
      preflight: (findings, failed) => {
        if (failed) {
          say(ctx.colors.red(`✖ ${envName}: preflight failed; nothing was stopped`));
          report(envName, findings, flags, ctx);
        }
        for (const line of findings.length > 0
          ? formatChecks(findings, ctx.colors, terminalColumns(ctx.stderr))
          : [])
          say(line);
      },
      wouldStop: (containers) =>
        say(
          containers.length === 0
            ? `Would stop nothing (no selected container of ${envName} runs), then start:`
            : `Would stop ${containers.map((c) => c.name).join(', ')}, then start:`,
        ),
      start: ({ lockHeld, checked }) =>
        startAction(envName, flags, ctx, {
          stack,
          ...(lockHeld ? { lockHeld: true } : {}),
          ...(checked ? { withoutPreflight: true } : {}),
        }),
    },
  );
}

export interface LogsFlags {
  /** Only the services of these stacks. */
  stack?: string[];
  follow?: boolean;
  tail: string;
  since?: string;
  timestamps?: boolean;
  schema?: string;
}

/**
 * Logs of one service (every replica) or, without a service, of the whole environment, each line
 * prefixed with its container as `docker compose logs` does, secret values redacted. Without -f the
 * lines of all containers are merged in time order.
 */
export async function logsAction(
  envName: string,
  service: string | undefined,
  flags: LogsFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  const env = requireEnvironment(stack.file, envName);
  if (service !== undefined && !env.services.includes(service)) {
    throw new StackctlError('E_USAGE', `${envName} has no service "${service}"`, {
      hint: didYouMean(service, env.services, 'services'),
    });
  }
  const tail = flags.tail === 'all' ? undefined : Number(flags.tail);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) {
    throw new StackctlError('E_USAGE', `--tail "${flags.tail}" is not a number of lines`, {
      hint: 'use --tail 100 or --tail all',
    });
  }
  const since = flags.since === undefined ? undefined : parseSince(flags.since, Date.now());
  // --stack: the services of those stacks (the seeds' logs-{stack}).
  const stacks = flags.stack ?? [];
  for (const name of stacks)
    if (!env.services.some((s) => stack.file.services[s]?.stack === name))
      throw new StackctlError('E_USAGE', `${envName} runs no service of stack "${name}"`, {
        hint: `stacks of ${envName}: ${[...new Set(env.services.map((s) => stack.file.services[s]?.stack))].join(', ')}`,
      });
  await streamLogs(
    stack,
    {
      envName,
      service,
      stacks,
      tail,
      since,
      follow: flags.follow === true,
      timestamps: flags.timestamps === true,
    },
    ctx,
    (line) => printLine(ctx.stdout, line),
  );
}

/** --since as docker logs takes it: a duration back from now (10m, 1h30m) or a date; unix seconds. */
function parseSince(text: string, now: number): number {
  try {
    return Math.floor((now - durationMs(text)) / 1000);
  } catch {
    const time = Date.parse(text);
    if (Number.isNaN(time))
      throw new StackctlError('E_USAGE', `--since "${text}" is neither a duration nor a date`, {
        hint: 'use --since 10m, --since 2h or --since 2026-12-01T09:00:00Z',
      });
    return Math.floor(time / 1000);
  }
}

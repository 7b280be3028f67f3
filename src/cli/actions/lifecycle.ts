import { StackctlError } from '../../errors.js';
import { projectContainers, type ContainerSummary } from '../../effects/containers.js';
import { durationMs } from '../../duration.js';
import { didYouMean } from '../../schema/suggest.js';
import { dockerClient } from '../../effects/docker.js';
import { stopInGraphOrder, type StoppedContainer } from '../../lifecycle/stop.js';
import { stopOnSwarm } from '../../lifecycle/swarm.js';
import { environmentServices, swarmNode, type SwarmService } from '../../effects/swarm.js';
import { acquireLock } from '../../effects/lock.js';
import { environmentRedactor } from '../../effects/redaction.js';
import { readLogLines } from '../../effects/log-stream.js';
import { LABELS } from '../../labels.js';
import { composeProjectName } from '../../model/environment.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { startAction, type StartFlags } from './start.js';
import { effectiveReader } from '../../lifecycle/effective-config.js';
import { assessHost } from '../../lifecycle/preflight.js';
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
  for (const name of names) reports.push(await stopEnvironment(stack, name, flags, seconds, ctx));
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

async function stopEnvironment(
  stack: Awaited<ReturnType<typeof loadStack>>,
  envName: string,
  flags: StopFlags,
  seconds: number | undefined,
  ctx: CommandContext,
): Promise<StopReportJson> {
  const lock = await acquireLock(stack.root, envName, `stop ${envName}`);
  const say = (line: string): void => {
    if (flags.json !== true) printLine(ctx.stderr, line);
  };
  try {
    const docker = dockerClient(ctx.env);
    const project = composeProjectName(stack.file, envName);
    const containers = (await projectContainers(docker, project)).filter(
      (c) => flags.stack.length === 0 || flags.stack.includes(c.labels[LABELS.stack] ?? ''),
    );
    const stopped = await stopInGraphOrder(docker, stack.file, containers, {
      ...(seconds === undefined ? {} : { seconds }),
      signal: ctx.signal,
      onStopping: (service) => say(`Stopping ${service}`),
      onStopped: (container) => say(`  ${stoppedLine(container, ctx)}`),
    });
    // A swarm deployment of the environment, found by its labels, stops the same way.
    const swarmStopped =
      (await swarmNode(docker)).manager === true
        ? await stopOnSwarm(docker, stack.file, envName, {
            stacks: flags.stack,
            signal: ctx.signal,
            onStopping: (services) => say(`Stopping swarm services ${services.join(', ')}`),
          })
        : [];
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
      swarmServices: swarmStopped,
    };
  } finally {
    await lock.release();
  }
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
  if (checked) {
    const assessment = await assessHost(stack, envName, flags.gpu, ctx, {
      generatesFiles: true,
      skipChecks: flags.skipCheck ?? [],
      readEffective: effectiveReader(stack, ctx),
    });
    const findings = assessment.checks.filter((check) => check.status !== 'pass');
    if (findings.some((check) => check.status === 'fail')) {
      say(ctx.colors.red(`✖ ${envName}: preflight failed; nothing was stopped`));
      report(envName, findings, flags, ctx);
    }
    for (const line of findings.length > 0
      ? formatChecks(findings, ctx.colors, terminalColumns(ctx.stderr))
      : [])
      say(line);
  }
  const docker = dockerClient(ctx.env);
  const project = composeProjectName(stack.file, envName);
  const lock =
    flags.dryRun === true ? undefined : await acquireLock(stack.root, envName, `restart ${envName}`);
  try {
    const containers = (await projectContainers(docker, project)).filter(
      (c) =>
        c.status === 'running' &&
        (flags.stack.length === 0 || flags.stack.includes(c.labels[LABELS.stack] ?? '')) &&
        (flags.service.length === 0 || flags.service.includes(c.service)),
    );
    if (flags.dryRun === true) {
      say(
        containers.length === 0
          ? `Would stop nothing (no selected container of ${envName} runs), then start:`
          : `Would stop ${containers.map((c) => c.name).join(', ')}, then start:`,
      );
    } else {
      if (flags.swarm === true)
        await stopOnSwarm(docker, stack.file, envName, {
          stacks: flags.stack,
          signal: ctx.signal,
          onStopping: (services) => say(`Stopping swarm services ${services.join(', ')}`),
        });
      await stopInGraphOrder(docker, stack.file, containers, {
        signal: ctx.signal,
        onStopping: (service) => say(`Stopping ${service}`),
        onStopped: (container) => say(`  ${stoppedLine(container, ctx)}`),
      });
    }
    await startAction(envName, flags, ctx, {
      stack,
      ...(lock ? { lockHeld: true } : {}),
      ...(checked ? { withoutPreflight: true } : {}),
    });
  } finally {
    await lock?.release();
  }
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
  const docker = dockerClient(ctx.env);
  const project = composeProjectName(stack.file, envName);
  // --stack: the services of those stacks (the seeds' logs-{stack}).
  const stacks = flags.stack ?? [];
  for (const name of stacks)
    if (!env.services.some((s) => stack.file.services[s]?.stack === name))
      throw new StackctlError('E_USAGE', `${envName} runs no service of stack "${name}"`, {
        hint: `stacks of ${envName}: ${[...new Set(env.services.map((s) => stack.file.services[s]?.stack))].join(', ')}`,
      });
  const inStacks = (name: string): boolean =>
    stacks.length === 0 || stacks.includes(stack.file.services[name]?.stack ?? '');
  const containers = (await projectContainers(docker, project, service)).filter((c) => inStacks(c.service));
  if (containers.length === 0 && (await swarmNode(docker)).manager) {
    const services = (await environmentServices(docker, stack.file.project.name, envName)).filter(
      (candidate) => (service === undefined || candidate.name === service) && inStacks(candidate.name),
    );
    if (services.length > 0) {
      const redact = await environmentRedactor(docker, stack.root, stack.file, envName, []);
      await printSwarmLogs(
        docker,
        services,
        redact,
        { tail, since, follow: flags.follow === true, timestamps: flags.timestamps === true },
        ctx,
      );
      return;
    }
  }
  if (containers.length === 0) {
    throw new StackctlError('E_RUNTIME', `${service ?? envName} of ${envName} has no container`, {
      hint: `start it: stackctl start ${envName}`,
    });
  }
  const redact = await environmentRedactor(docker, stack.root, stack.file, envName, containers);
  const names = new Map(containers.map((c) => [c.id, c.name.replace(`${project}-`, '')]));
  const width = Math.max(...[...names.values()].map((name) => name.length));
  const prefix = (container: ContainerSummary): string =>
    containers.length > 1 ? `${(names.get(container.id) ?? container.name).padEnd(width)} | ` : '';
  const options = {
    stdout: true,
    stderr: true,
    ...(tail === undefined ? {} : { tail }),
    ...(since === undefined ? {} : { since }),
  };
  if (flags.follow === true) {
    await Promise.all(
      containers.map(async (container) => {
        const stream = (await docker.getContainer(container.id).logs({
          ...options,
          follow: true,
          timestamps: flags.timestamps === true,
        })) as unknown as NodeJS.ReadableStream & { destroy(): void };
        ctx.signal.addEventListener('abort', () => stream.destroy(), { once: true });
        await readLogLines(docker, stream, container.tty, (line) =>
          printLine(ctx.stdout, `${prefix(container)}${redact(line)}`),
        );
      }),
    );
    return;
  }
  // Timestamps always, to merge by time; shown only with --timestamps.
  const lines = (
    await Promise.all(
      containers.map(async (container) => {
        const raw = await docker
          .getContainer(container.id)
          .logs({ ...options, follow: false, timestamps: true });
        const lines: string[] = [];
        await readLogLines(docker, raw, container.tty, (line) => lines.push(line));
        return lines.map(splitTimestamp).map((line) => ({ ...line, container }));
      }),
    )
  ).flat();
  lines.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  for (const line of lines) {
    const time = flags.timestamps === true ? `${line.time} ` : '';
    printLine(ctx.stdout, `${prefix(line.container)}${time}${redact(line.text)}`);
  }
}

/** A line of `docker logs --timestamps` output as {time, text}; time sorts as text (RFC 3339, UTC). */
function splitTimestamp(line: string): { time: string; text: string } {
  const space = line.indexOf(' ');
  return space > 0 ? { time: line.slice(0, space), text: line.slice(space + 1) } : { time: '', text: line };
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

/** Logs of swarm services (every task, on every node), through the manager; -f follows them all. */
async function printSwarmLogs(
  docker: ReturnType<typeof dockerClient>,
  services: readonly SwarmService[],
  redact: (text: string) => string,
  options: { tail: number | undefined; since: number | undefined; follow: boolean; timestamps: boolean },
  ctx: CommandContext,
): Promise<void> {
  const width = Math.max(...services.map((service) => service.name.length));
  await Promise.all(
    services.map(async (service) => {
      const stream = (await docker.getService(service.id).logs({
        stdout: true,
        stderr: true,
        follow: options.follow,
        timestamps: options.timestamps,
        ...(options.tail === undefined ? {} : { tail: options.tail }),
        ...(options.since === undefined ? {} : { since: options.since }),
      })) as unknown as NodeJS.ReadableStream & { destroy(): void };
      ctx.signal.addEventListener('abort', () => stream.destroy(), { once: true });
      const prefix = services.length > 1 ? `${service.name.padEnd(width)} | ` : '';
      await readLogLines(docker, stream, false, (line) => printLine(ctx.stdout, `${prefix}${redact(line)}`));
    }),
  );
}

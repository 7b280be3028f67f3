import { StackctlError } from '../../errors.js';
import { projectContainers, type ContainerSummary } from '../../effects/containers.js';
import { durationMs } from '../../duration.js';
import { didYouMean } from '../../schema/suggest.js';
import { dockerClient } from '../../effects/docker.js';
import { stopInGraphOrder } from '../../lifecycle/stop.js';
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

export interface StopFlags {
  stack: string[];
  timeout?: string;
  schema?: string;
  json?: boolean;
}

/** Stops an environment's containers in the start graph's reverse order; nothing is removed. */
export async function stopAction(envName: string, flags: StopFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  requireEnvironment(stack.file, envName);
  const lock = await acquireLock(stack.root, envName, `stop ${envName}`);
  try {
    const docker = dockerClient(ctx.env);
    const project = composeProjectName(stack.file, envName);
    const containers = (await projectContainers(docker, project)).filter(
      (c) => flags.stack.length === 0 || flags.stack.includes(c.labels[LABELS.stack] ?? ''),
    );
    const seconds = flags.timeout === undefined ? undefined : Number(flags.timeout);
    if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 0)) {
      throw new StackctlError('E_USAGE', `--timeout "${flags.timeout}" is not a whole number of seconds`, {
        hint: 'use -t 30',
      });
    }
    const started = Date.now();
    const stopped = await stopInGraphOrder(docker, stack.file, containers, {
      ...(seconds === undefined ? {} : { seconds }),
      signal: ctx.signal,
      onStopping: (service) => {
        if (flags.json !== true) printLine(ctx.stderr, `Stopping ${service}`);
      },
      onStopped: (container) => {
        if (flags.json !== true)
          printLine(
            ctx.stderr,
            `  stopped ${container.name} (${((Date.now() - started) / 1000).toFixed(1)}s)`,
          );
      },
    });
    // A swarm deployment of the environment, found by its labels, stops the same way.
    const swarmStopped =
      (await swarmNode(docker)).manager === true
        ? await stopOnSwarm(docker, stack.file, envName, {
            stacks: flags.stack,
            signal: ctx.signal,
            onStopping: (services) => {
              if (flags.json !== true)
                printLine(ctx.stderr, `Stopping swarm services ${services.join(', ')}`);
            },
          })
        : [];
    if (flags.json === true)
      printJson(ctx.stdout, { environment: envName, stopped, swarmServices: swarmStopped });
    else if (stopped.length === 0 && swarmStopped.length === 0)
      printLine(ctx.stdout, `${envName}: nothing running`);
    else {
      if (stopped.length > 0)
        printLine(
          ctx.stdout,
          `✔ stopped ${stopped.length} container${stopped.length === 1 ? '' : 's'} of ${envName}`,
        );
      if (swarmStopped.length > 0)
        printLine(
          ctx.stdout,
          `✔ scaled ${swarmStopped.length} swarm service${swarmStopped.length === 1 ? '' : 's'} of ${envName} to 0 (start --swarm brings them back)`,
        );
    }
  } finally {
    await lock.release();
  }
}

/** Stops the selection, then starts it again through the normal start (preflight, generate, wait). */
export async function restartAction(envName: string, flags: StartFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const docker = dockerClient(ctx.env);
  const project = composeProjectName(stack.file, envName);
  const lock = await acquireLock(stack.root, envName, `restart ${envName}`);
  try {
    if (flags.swarm === true)
      await stopOnSwarm(docker, stack.file, envName, { stacks: flags.stack, signal: ctx.signal });
    const containers = (await projectContainers(docker, project)).filter(
      (c) =>
        c.status === 'running' &&
        (flags.stack.length === 0 || flags.stack.includes(c.labels[LABELS.stack] ?? '')) &&
        (flags.service.length === 0 || flags.service.includes(c.service)),
    );
    await stopInGraphOrder(docker, stack.file, containers, { signal: ctx.signal });
  } finally {
    await lock.release();
  }
  await startAction(envName, flags, ctx);
}

export interface LogsFlags {
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
  const containers = await projectContainers(docker, project, service);
  if (containers.length === 0 && (await swarmNode(docker)).manager) {
    const services = (await environmentServices(docker, stack.file.project.name, envName)).filter(
      (candidate) => service === undefined || candidate.name === service,
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

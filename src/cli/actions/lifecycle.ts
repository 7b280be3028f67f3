import type Docker from 'dockerode';
import type { StackFile } from '../../schema/types.js';
import { StackctlError } from '../../errors.js';
import { demux, projectContainers, type ContainerSummary } from '../../effects/containers.js';
import { dockerClient, dockerStatusCode } from '../../effects/docker.js';
import { acquireLock } from '../../effects/lock.js';
import { environmentRedactor } from '../../effects/redaction.js';
import { demuxStream } from '../../effects/log-stream.js';
import { LABELS } from '../../generate/compose-files.js';
import { composeProjectName, stackOrder } from '../../model/environment.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { table } from '../../ui/table.js';
import { startAction, type StartFlags } from './start.js';

export interface StopFlags {
  stack: string[];
  schema?: string;
  json?: boolean;
}

/** Stops an environment's containers in reverse stack order; nothing is removed. */
export async function stopAction(envName: string, flags: StopFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const lock = await acquireLock(stack.root, envName, `stop ${envName}`);
  try {
    const docker = dockerClient(ctx.env);
    const project = composeProjectName(stack.file, envName);
    const containers = (await projectContainers(docker, project)).filter(
      (c) => flags.stack.length === 0 || flags.stack.includes(c.labels[LABELS.stack] ?? ''),
    );
    const stopped = await stopInReverseOrder(docker, stack.file, containers, ctx, (stackName, group) => {
      if (flags.json !== true)
        printLine(ctx.stderr, `Stopping ${stackName}: ${group.map((c) => c.service).join(', ')}`);
    });
    if (flags.json === true) printJson(ctx.stdout, { environment: envName, stopped });
    else
      printLine(
        ctx.stdout,
        stopped.length === 0
          ? `${envName}: nothing running`
          : `✔ stopped ${stopped.length} container${stopped.length === 1 ? '' : 's'} of ${envName}`,
      );
  } finally {
    await lock.release();
  }
}

/** Stops running containers stack by stack, dependents first; returns the names stopped. */
async function stopInReverseOrder(
  docker: Docker,
  file: StackFile,
  containers: readonly ContainerSummary[],
  ctx: CommandContext,
  onStack: (stack: string, group: readonly ContainerSummary[]) => void = () => undefined,
): Promise<string[]> {
  const stopped: string[] = [];
  for (const stackName of stackOrder(file).reverse()) {
    const group = containers.filter((c) => c.labels[LABELS.stack] === stackName && c.status === 'running');
    if (group.length === 0) continue;
    ctx.signal.throwIfAborted();
    onStack(stackName, group);
    await Promise.all(group.map((c) => docker.getContainer(c.id).stop().catch(ignoreNotRunning)));
    stopped.push(...group.map((c) => c.name));
  }
  return stopped;
}

function ignoreNotRunning(error: unknown): void {
  if (dockerStatusCode(error) === 304) return;
  throw error;
}

/** Stops the selection, then starts it again through the normal start (preflight, generate, wait). */
export async function restartAction(envName: string, flags: StartFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const docker = dockerClient(ctx.env);
  const project = composeProjectName(stack.file, envName);
  const lock = await acquireLock(stack.root, envName, `restart ${envName}`);
  try {
    const containers = (await projectContainers(docker, project)).filter(
      (c) =>
        c.status === 'running' &&
        (flags.stack.length === 0 || flags.stack.includes(c.labels[LABELS.stack] ?? '')) &&
        (flags.service.length === 0 || flags.service.includes(c.service)),
    );
    await stopInReverseOrder(docker, stack.file, containers, ctx);
  } finally {
    await lock.release();
  }
  await startAction(envName, flags, ctx);
}

export interface StatusFlags {
  schema?: string;
  json?: boolean;
}

/** Reads containers by label, so it works even when the generated files are gone. */
export async function statusAction(
  envName: string | undefined,
  flags: StatusFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const docker = dockerClient(ctx.env);
  const environments = envName === undefined ? Object.keys(stack.file.environments) : [envName];
  const rows: { environment: string; container: ContainerSummary }[] = [];
  for (const env of environments) {
    for (const container of await projectContainers(docker, composeProjectName(stack.file, env)))
      rows.push({ environment: env, container });
  }
  const now = Date.now();
  const entries = rows.map(({ environment, container }) => ({
    environment,
    service: container.service,
    container: container.name,
    state: container.status,
    health: container.health ?? null,
    ports: container.ports.map(
      (p) => `${p.hostIp === '' ? '0.0.0.0' : p.hostIp}:${p.hostPort}->${p.containerPort}`,
    ),
    uptimeSeconds:
      container.status === 'running'
        ? Math.max(0, Math.round((now - Date.parse(container.startedAt)) / 1000))
        : null,
  }));
  if (flags.json === true) {
    printJson(ctx.stdout, { containers: entries });
    return;
  }
  if (entries.length === 0) {
    printLine(ctx.stdout, envName === undefined ? 'No stackctl containers.' : `${envName}: no containers.`);
    return;
  }
  const lines = table(
    [
      ['ENVIRONMENT', 'SERVICE', 'STATE', 'HEALTH', 'PORTS', 'UPTIME'],
      ...entries.map((e) => [
        e.environment,
        e.service,
        e.state,
        e.health ?? '-',
        e.ports.join(', ') || '-',
        e.uptimeSeconds === null ? '-' : uptime(e.uptimeSeconds),
      ]),
    ],
    ctx.colors.bold,
  );
  for (const line of lines) printLine(ctx.stdout, line);
}

function uptime(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

export interface LogsFlags {
  follow?: boolean;
  tail: string;
  schema?: string;
}

/** A service's logs (every replica), with the environment's secret values redacted. */
export async function logsAction(
  envName: string,
  service: string,
  flags: LogsFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  const env = requireEnvironment(stack.file, envName);
  if (!env.services.includes(service)) {
    throw new StackctlError('E_USAGE', `${envName} has no service "${service}"`, {
      hint: `services: ${env.services.join(', ')}`,
    });
  }
  const tail = flags.tail === 'all' ? undefined : Number(flags.tail);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) {
    throw new StackctlError('E_USAGE', `--tail "${flags.tail}" is not a number of lines`, {
      hint: 'use --tail 100 or --tail all',
    });
  }
  const docker = dockerClient(ctx.env);
  const containers = await projectContainers(docker, composeProjectName(stack.file, envName), service);
  if (containers.length === 0) {
    throw new StackctlError('E_RUNTIME', `${service} of ${envName} has no container`, {
      hint: `start it: stackctl start ${envName}`,
    });
  }
  const redact = await environmentRedactor(docker, stack.root, stack.file, envName, containers);
  await Promise.all(
    containers.map((container) =>
      streamLogs(docker, container, containers.length > 1, redact, flags, tail, ctx),
    ),
  );
}

async function streamLogs(
  docker: Docker,
  container: ContainerSummary,
  prefix: boolean,
  redact: (text: string) => string,
  flags: LogsFlags,
  tail: number | undefined,
  ctx: CommandContext,
): Promise<void> {
  const label = prefix ? `${container.name} | ` : '';
  const write = (line: string): void => printLine(ctx.stdout, `${label}${redact(line)}`);
  if (flags.follow === true) {
    const stream = (await docker.getContainer(container.id).logs({
      follow: true,
      stdout: true,
      stderr: true,
      ...(tail === undefined ? {} : { tail }),
    })) as unknown as NodeJS.ReadableStream & {
      destroy(): void;
    };
    ctx.signal.addEventListener('abort', () => stream.destroy(), { once: true });
    await demuxStream(stream, write);
    return;
  }
  const raw = await docker
    .getContainer(container.id)
    .logs({ follow: false, stdout: true, stderr: true, ...(tail === undefined ? {} : { tail }) });
  const text = demux(raw);
  for (const line of text.split('\n').slice(0, text.endsWith('\n') ? -1 : undefined)) write(line);
}

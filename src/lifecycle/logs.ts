// Logs of an environment: one service (every replica) or all of them, each line prefixed with its
// container as `docker compose logs` does, secret values redacted. Without follow, the lines of all
// containers are merged in time order; an environment deployed to the swarm is read through the
// manager (every task, on every node).
import type Docker from 'dockerode';
import { StackctlError } from '../errors.js';
import { projectContainers, type ContainerSummary } from '../effects/containers.js';
import { dockerClient } from '../effects/docker.js';
import { readLogLines } from '../effects/log-stream.js';
import { environmentRedactor } from '../effects/redaction.js';
import { environmentServices, swarmNode, type SwarmService } from '../effects/swarm.js';
import { composeProjectName } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';

export interface LogsRequest {
  readonly envName: string;
  readonly service: string | undefined;
  /** Only the services of these stacks. */
  readonly stacks: readonly string[];
  /** Lines from the end; all when undefined. */
  readonly tail: number | undefined;
  /** Unix seconds. */
  readonly since: number | undefined;
  readonly follow: boolean;
  readonly timestamps: boolean;
}

/** Prints (through `emit`) the environment's logs; with follow, until the signal aborts. */
export async function streamLogs(
  stack: LoadedStack,
  request: LogsRequest,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal },
  emit: (line: string) => void,
): Promise<void> {
  const { envName, service } = request;
  const docker = dockerClient(io.env);
  const project = composeProjectName(stack.file, envName);
  const inStacks = (name: string): boolean =>
    request.stacks.length === 0 || request.stacks.includes(stack.file.services[name]?.stack ?? '');
  const containers = (await projectContainers(docker, project, service)).filter((c) => inStacks(c.service));
  if (containers.length === 0 && (await swarmNode(docker)).manager) {
    const services = (await environmentServices(docker, stack.file.project.name, envName)).filter(
      (candidate) => (service === undefined || candidate.name === service) && inStacks(candidate.name),
    );
    if (services.length > 0) {
      const redact = await environmentRedactor(docker, stack.root, stack.file, envName, []);
      await swarmLogs(docker, services, redact, request, io.signal, emit);
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
    ...(request.tail === undefined ? {} : { tail: request.tail }),
    ...(request.since === undefined ? {} : { since: request.since }),
  };
  if (request.follow) {
    await Promise.all(
      containers.map(async (container) => {
        const stream = (await docker.getContainer(container.id).logs({
          ...options,
          follow: true,
          timestamps: request.timestamps,
        })) as unknown as NodeJS.ReadableStream & { destroy(): void };
        io.signal.addEventListener('abort', () => stream.destroy(), { once: true });
        await readLogLines(docker, stream, container.tty, (line) =>
          emit(`${prefix(container)}${redact(line)}`),
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
    const time = request.timestamps ? `${line.time} ` : '';
    emit(`${prefix(line.container)}${time}${redact(line.text)}`);
  }
}

/** A line of `docker logs --timestamps` output as {time, text}; time sorts as text (RFC 3339, UTC). */
function splitTimestamp(line: string): { time: string; text: string } {
  const space = line.indexOf(' ');
  return space > 0 ? { time: line.slice(0, space), text: line.slice(space + 1) } : { time: '', text: line };
}

/** Logs of swarm services (every task, on every node), through the manager; follow follows them all. */
async function swarmLogs(
  docker: Docker,
  services: readonly SwarmService[],
  redact: (text: string) => string,
  request: LogsRequest,
  signal: AbortSignal,
  emit: (line: string) => void,
): Promise<void> {
  const width = Math.max(...services.map((service) => service.name.length));
  await Promise.all(
    services.map(async (service) => {
      const stream = (await docker.getService(service.id).logs({
        stdout: true,
        stderr: true,
        follow: request.follow,
        timestamps: request.timestamps,
        ...(request.tail === undefined ? {} : { tail: request.tail }),
        ...(request.since === undefined ? {} : { since: request.since }),
      })) as unknown as NodeJS.ReadableStream & { destroy(): void };
      signal.addEventListener('abort', () => stream.destroy(), { once: true });
      const prefix = services.length > 1 ? `${service.name.padEnd(width)} | ` : '';
      await readLogLines(docker, stream, false, (line) => emit(`${prefix}${redact(line)}`));
    }),
  );
}

// Docker Swarm through the engine API (services, tasks, secrets) and the docker CLI for
// `stack deploy` (it turns a stack file into services, networks and configs). Every lookup is by
// label: stackctl touches only what its stack files created.
import type Docker from 'dockerode';
import { execa } from 'execa';
import { StackctlError } from '../errors.js';
import { LABELS, SWARM_LABELS } from '../labels.js';
import { dockerCliEnvironment, dockerReason, dockerStatusCode } from './docker.js';
import { readLogLines } from './log-stream.js';
import { compareText } from '../text.js';

export interface SwarmNode {
  readonly state: string;
  readonly manager: boolean;
}

/** Whether this engine is a swarm manager (only a manager deploys and lists services). */
export async function swarmNode(docker: Docker): Promise<SwarmNode> {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
  return { state: info.Swarm?.LocalNodeState ?? 'inactive', manager: info.Swarm?.ControlAvailable === true };
}

export async function requireSwarmManager(docker: Docker): Promise<void> {
  const node = await swarmNode(docker);
  if (node.state !== 'active')
    throw new StackctlError('E_PREFLIGHT', `this Docker engine is not part of a swarm (${node.state})`, {
      hint: 'run `docker swarm init` here (or `docker swarm join` to an existing swarm), then start again',
    });
  if (!node.manager)
    throw new StackctlError('E_PREFLIGHT', 'this Docker engine is a swarm worker: only managers deploy', {
      hint: 'run stackctl on a manager node, or point DOCKER_HOST at one',
    });
}

/** Creates the secrets that do not exist yet; values go in the API request body, never on argv. */
export async function ensureSecrets(
  docker: Docker,
  secrets: readonly { name: string; value: string; labels: Record<string, string> }[],
): Promise<string[]> {
  const existing = new Set(
    ((await docker.listSecrets()) as { Spec?: { Name?: string } }[]).map((secret) => secret.Spec?.Name),
  );
  const created: string[] = [];
  for (const secret of secrets) {
    if (existing.has(secret.name)) continue;
    try {
      await docker.createSecret({
        Name: secret.name,
        Data: Buffer.from(secret.value, 'utf8').toString('base64'),
        Labels: secret.labels,
      });
      created.push(secret.name);
    } catch (error) {
      if (dockerStatusCode(error) !== 409) throw error; // created meanwhile: the same value by its name
    }
  }
  return created;
}

/**
 * `docker stack deploy` of a stack file read from stdin. Secret values the file refers to as ${NAME}
 * reach the docker CLI through its environment, never its arguments.
 */
export async function deployStack(
  name: string,
  stackFileText: string,
  options: {
    env: NodeJS.ProcessEnv;
    values: Readonly<Record<string, string>>;
    cwd: string;
    signal?: AbortSignal;
  },
): Promise<void> {
  const result = await execa(
    'docker',
    ['stack', 'deploy', '--compose-file', '-', '--resolve-image', 'never', '--detach=true', name],
    {
      input: stackFileText,
      reject: false,
      all: true,
      cwd: options.cwd,
      env: { ...dockerCliEnvironment(options.env), ...options.values },
      extendEnv: false,
      cancelSignal: options.signal,
    },
  );
  if (result.isCanceled) throw options.signal?.reason ?? new Error('cancelled');
  if (result.exitCode !== 0) {
    const output = (result.all ?? '').trim();
    throw new StackctlError('E_RUNTIME', `docker stack deploy ${name} failed: ${lastLine(output)}`, {
      hint: 'see what docker says; the stack file stackctl deployed is .stackctl/swarm/<environment>.yml',
    });
  }
}

export interface SwarmTask {
  readonly service: string;
  readonly state: string;
  readonly desiredState: string;
  readonly error?: string;
  readonly message?: string;
  readonly containerId?: string;
  readonly createdAt: string;
  /** When the task reached its current state (ms since epoch). */
  readonly since: number;
}

export interface SwarmService {
  readonly id: string;
  /** The stack's name for it (its key in the stack file). */
  readonly name: string;
  readonly fullName: string;
  readonly replicas: number;
  readonly job: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly version: number;
  /** Whether swarm starts a new task when one fails (restart_policy condition any or on-failure). */
  readonly restarts: boolean;
}

/** The swarm services of one stackctl environment. */
export async function environmentServices(
  docker: Docker,
  project: string,
  environment: string,
): Promise<SwarmService[]> {
  const services = await docker.listServices({
    filters: { label: [`${LABELS.project}=${project}`, `${LABELS.environment}=${environment}`] },
  });
  return services.map((service) => {
    const spec = service.Spec as {
      Name?: string;
      Labels?: Record<string, string>;
      Mode?: { Replicated?: { Replicas?: number }; ReplicatedJob?: { TotalCompletions?: number } };
      TaskTemplate?: { RestartPolicy?: { Condition?: string } };
    };
    const fullName = spec.Name ?? '';
    const namespace = spec.Labels?.[SWARM_LABELS.namespace] ?? '';
    return {
      id: service.ID ?? '',
      fullName,
      name:
        namespace && fullName.startsWith(`${namespace}_`) ? fullName.slice(namespace.length + 1) : fullName,
      replicas: spec.Mode?.Replicated?.Replicas ?? spec.Mode?.ReplicatedJob?.TotalCompletions ?? 1,
      job: spec.Mode?.ReplicatedJob !== undefined,
      labels: spec.Labels ?? {},
      version: service.Version?.Index ?? 0,
      restarts: (spec.TaskTemplate?.RestartPolicy?.Condition ?? 'any') !== 'none',
    };
  });
}

/** The tasks of these services, newest first. */
export async function serviceTasks(docker: Docker, services: readonly SwarmService[]): Promise<SwarmTask[]> {
  if (services.length === 0) return [];
  const byId = new Map(services.map((service) => [service.id, service.name]));
  const tasks = (await docker.listTasks({ filters: { service: services.map((service) => service.id) } })) as {
    ServiceID?: string;
    DesiredState?: string;
    CreatedAt?: string;
    Status?: {
      State?: string;
      Err?: string;
      Message?: string;
      Timestamp?: string;
      ContainerStatus?: { ContainerID?: string };
    };
  }[];
  return tasks
    .map((task) => ({
      service: byId.get(task.ServiceID ?? '') ?? '',
      state: task.Status?.State ?? 'unknown',
      desiredState: task.DesiredState ?? 'unknown',
      ...(task.Status?.Err ? { error: task.Status.Err } : {}),
      ...(task.Status?.Message ? { message: task.Status.Message } : {}),
      ...(task.Status?.ContainerStatus?.ContainerID
        ? { containerId: task.Status.ContainerStatus.ContainerID }
        : {}),
      createdAt: task.CreatedAt ?? '',
      since: Date.parse(task.Status?.Timestamp ?? '') || 0,
    }))
    .sort((a, b) => compareText(b.createdAt, a.createdAt));
}

/** Sets a replicated service's replica count (stop: 0; start again: what the stack file says). */
export async function scaleService(docker: Docker, id: string, replicas: number): Promise<void> {
  const service = docker.getService(id);
  const current = (await service.inspect()) as {
    Version: { Index: number };
    Spec: { Mode?: { Replicated?: { Replicas?: number } }; Labels?: Record<string, string> };
  };
  if (current.Spec.Mode?.Replicated === undefined) return;
  await service.update({
    version: current.Version.Index,
    ...current.Spec,
    Mode: { Replicated: { Replicas: replicas } },
  });
}

/** Forces a rolling restart of a service's tasks (the same spec, new tasks). */
export async function restartService(docker: Docker, id: string): Promise<void> {
  const service = docker.getService(id);
  const current = (await service.inspect()) as {
    Version: { Index: number };
    Spec: { TaskTemplate?: { ForceUpdate?: number } };
  };
  await service.update({
    version: current.Version.Index,
    ...current.Spec,
    TaskTemplate: {
      ...current.Spec.TaskTemplate,
      ForceUpdate: (current.Spec.TaskTemplate?.ForceUpdate ?? 0) + 1,
    },
  });
}

export async function removeService(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getService(id).remove();
  } catch (error) {
    if (dockerStatusCode(error) !== 404) throw new Error(`removing service ${id}: ${dockerReason(error)}`);
  }
}

/** Secrets, configs and networks of an environment's stack, found by stackctl's labels. */
export async function environmentSwarmObjects(
  docker: Docker,
  project: string,
  environment: string,
): Promise<{ secrets: { id: string; name: string }[]; configs: { id: string; name: string }[] }> {
  const filters = { label: [`${LABELS.project}=${project}`, `${LABELS.environment}=${environment}`] };
  const secrets = (await docker.listSecrets({ filters })) as { ID: string; Spec?: { Name?: string } }[];
  const configs = (await docker.listConfigs({ filters })) as { ID: string; Spec?: { Name?: string } }[];
  return {
    secrets: secrets.map((secret) => ({ id: secret.ID, name: secret.Spec?.Name ?? secret.ID })),
    configs: configs.map((config) => ({ id: config.ID, name: config.Spec?.Name ?? config.ID })),
  };
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .at(-1) ?? 'no output'
  );
}

/** The last lines a service's tasks wrote (every node's), or none when Docker cannot say. */
export async function serviceLogTail(docker: Docker, id: string, lines: number): Promise<string[]> {
  try {
    const raw = (await docker
      .getService(id)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown;
    const out: string[] = [];
    await readLogLines(docker, raw as NodeJS.ReadableStream, false, (line) => out.push(line));
    return out;
  } catch {
    return [];
  }
}

// One Docker API call, GET /containers/json, made without loading the Docker client: what a quick
// command (status) needs. Unix sockets and plain or TLS TCP are spoken directly; ssh:// goes through
// dockerode, which tunnels it.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import type { DockerConnection } from './docker-connection.js';
import { compareText } from '../text.js';

/** A container as the list endpoint reports it (no inspect). */
export interface ListedContainer {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** created, running, restarting, exited, paused, dead. */
  readonly state: string;
  /** Docker's own words: "Up 3 minutes (healthy)", "Exited (0) 2 hours ago". */
  readonly status: string;
  readonly health: 'healthy' | 'unhealthy' | 'starting' | undefined;
  readonly ports: readonly { hostIp: string; hostPort: number; containerPort: number }[];
  /** Its addresses on its networks (none when it is not running). */
  readonly addresses: readonly string[];
}

interface ListEntry {
  Id: string;
  Names?: string[];
  Labels?: Record<string, string>;
  State?: string;
  Status?: string;
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number }[];
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** Every container (running or not) carrying all of these labels. */
export async function listContainersByLabel(
  connection: DockerConnection,
  labels: readonly string[],
): Promise<ListedContainer[]> {
  const filters = JSON.stringify({ label: labels });
  const entries =
    connection.options.protocol === 'ssh'
      ? await listThroughDockerode(connection, labels)
      : await getJson<ListEntry[]>(
          connection,
          `/containers/json?all=1&filters=${encodeURIComponent(filters)}`,
        );
  return entries.map(toListed);
}

async function listThroughDockerode(
  connection: DockerConnection,
  labels: readonly string[],
): Promise<ListEntry[]> {
  const { default: Docker } = await import('dockerode');
  return await new Docker(connection.options).listContainers({
    all: true,
    filters: { label: [...labels] },
  });
}

/** A swarm service as the list endpoint reports it, with its running tasks counted. */
export interface ListedSwarmService {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Desired replicas (a job: its completions). */
  readonly replicas: number;
  readonly running: number;
  readonly ports: readonly { hostPort: number; containerPort: number }[];
  /** The newest task's state and error, Docker's words. */
  readonly newest: { readonly state: string; readonly error?: string } | undefined;
}

interface ServiceEntry {
  ID: string;
  Spec?: {
    Name?: string;
    Labels?: Record<string, string>;
    Mode?: { Replicated?: { Replicas?: number }; ReplicatedJob?: { TotalCompletions?: number } };
  };
  Endpoint?: { Ports?: { PublishedPort?: number; TargetPort?: number }[] };
}

interface TaskEntry {
  ServiceID?: string;
  DesiredState?: string;
  CreatedAt?: string;
  Status?: { State?: string; Err?: string };
}

/**
 * Swarm services carrying all of these labels, with their tasks: empty on an engine that manages no
 * swarm (Docker answers 503 there), so a plain compose host pays one quick refusal, in parallel.
 */
export async function listSwarmServicesByLabel(
  connection: DockerConnection,
  labels: readonly string[],
): Promise<ListedSwarmService[]> {
  if (connection.options.protocol === 'ssh') return [];
  const filters = encodeURIComponent(JSON.stringify({ label: labels }));
  const services = await getJson<ServiceEntry[]>(connection, `/services?filters=${filters}`).catch(
    (error: Error) => {
      if (/answered 503/.test(error.message)) return [];
      throw error;
    },
  );
  if (services.length === 0) return [];
  const taskFilters = encodeURIComponent(JSON.stringify({ service: services.map((service) => service.ID) }));
  const tasks = await getJson<TaskEntry[]>(connection, `/tasks?filters=${taskFilters}`);
  return services.map((service) => {
    const own = tasks
      .filter((task) => task.ServiceID === service.ID)
      .sort((a, b) => compareText(b.CreatedAt ?? '', a.CreatedAt ?? ''));
    const newest = own[0];
    const mode = service.Spec?.Mode;
    return {
      name: service.Spec?.Name ?? service.ID,
      labels: service.Spec?.Labels ?? {},
      replicas: mode?.Replicated?.Replicas ?? mode?.ReplicatedJob?.TotalCompletions ?? 1,
      running: own.filter((task) => task.Status?.State === 'running' && task.DesiredState === 'running')
        .length,
      ports: (service.Endpoint?.Ports ?? [])
        .filter((port) => port.PublishedPort !== undefined)
        .map((port) => ({ hostPort: port.PublishedPort ?? 0, containerPort: port.TargetPort ?? 0 })),
      newest:
        newest === undefined
          ? undefined
          : {
              state: newest.Status?.State ?? 'unknown',
              ...(newest.Status?.Err ? { error: newest.Status.Err } : {}),
            },
    };
  });
}

/**
 * One answer of a container's stats endpoint; undefined when the container is gone. By default
 * (stream=false) Docker takes two samples about a second apart, so CPU use can be computed from the
 * one answer; `oneShot` asks for a single sample at once (a caller that asks again computes CPU use
 * from the two answers).
 */
export async function containerStats(
  connection: DockerConnection,
  id: string,
  options: { readonly oneShot?: boolean } = {},
): Promise<unknown> {
  const oneShot = options.oneShot === true;
  if (connection.options.protocol === 'ssh') {
    const { default: Docker } = await import('dockerode');
    return new Docker(connection.options)
      .getContainer(id)
      .stats({ stream: false, ...(oneShot ? { 'one-shot': true } : {}) })
      .catch(() => undefined);
  }
  return getJson<unknown>(
    connection,
    `/containers/${encodeURIComponent(id)}/stats?stream=false${oneShot ? '&one-shot=true' : ''}`,
  ).catch(() => undefined);
}

async function getJson<T>(connection: DockerConnection, path: string): Promise<T> {
  const { options } = connection;
  const target: RequestOptions =
    options.socketPath !== undefined
      ? { socketPath: options.socketPath }
      : { host: options.host, port: options.port };
  const secure = options.protocol === 'https';
  const tls = secure ? { ca: options.ca, cert: options.cert, key: options.key } : {};
  // TLS (and the crypto it loads) only for an engine that speaks it: a fifth of status's own start.
  const send = secure ? (await import('node:https')).request : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const request = send({ ...target, ...tls, path, method: 'GET' }, (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if ((response.statusCode ?? 500) >= 400) {
          reject(new Error(`Docker answered ${response.statusCode}: ${body.trim()}`));
          return;
        }
        try {
          resolve(JSON.parse(body) as T);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    request.on('error', reject);
    request.end();
  });
}

function toListed(entry: ListEntry): ListedContainer {
  const status = entry.Status ?? '';
  const health = /\(healthy\)/.test(status)
    ? 'healthy'
    : /\(unhealthy\)/.test(status)
      ? 'unhealthy'
      : /\(health: starting\)/.test(status)
        ? 'starting'
        : undefined;
  return {
    id: entry.Id,
    name: (entry.Names?.[0] ?? entry.Id).replace(/^\//, ''),
    addresses: Object.values(entry.NetworkSettings?.Networks ?? {})
      .map((network) => network.IPAddress ?? '')
      .filter((address) => address !== ''),
    labels: entry.Labels ?? {},
    state: entry.State ?? 'unknown',
    status,
    health,
    ports: (entry.Ports ?? [])
      .filter((port) => port.PublicPort !== undefined)
      .map((port) => ({
        hostIp: port.IP ?? '',
        hostPort: port.PublicPort ?? 0,
        containerPort: port.PrivatePort,
      })),
  };
}

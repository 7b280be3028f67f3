// What runs, read for `status`: every container of the environments by compose's project label
// (services the user's overlay adds carry no stackctl label) and, only when this project deployed
// one of them to a swarm, its swarm services, in one Docker API call each, at the same time.
// Kept small: `status` is run in a loop, and this is all it loads besides printing.
import {
  containerStats,
  listContainersByLabel,
  listSwarmServicesByLabel,
} from '../effects/container-list.js';
import { usageOf, type ResourceUsage } from '../host/docker-stats.js';
import { dockerConnection } from '../effects/docker-connection.js';
import { readUnchangedSchemaNames, schemaDigest } from '../effects/known-schema.js';
import { readSchema } from '../effects/schema-file.js';
import { readKnownSchema } from '../effects/validation-cache.js';
import { projectRoot } from '../model/stack.js';
import { CHECKS_ID } from '../schema/generated/checks-id.js';
import { environmentsDeployedToSwarm } from '../effects/swarm-state.js';
import { COMPOSE_LABELS, LABELS, SWARM_LABELS } from '../labels.js';
import { publishedUrls } from '../ui/urls.js';
import { compareText } from '../text.js';

/**
 * The project and environment names of the stack file without parsing or validating it: from the
 * copy recorded at the last generate or start when it is unchanged, else from the user's cache of
 * schemas this build validated. Undefined when neither knows it (the caller loads it in full).
 */
export async function unchangedSchemaNames(
  schemaFlag: string | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<StatusNames | undefined> {
  const recorded = await readUnchangedSchemaNames(schemaFlag, cwd);
  if (recorded) return recorded;
  const source = await readSchema(schemaFlag, cwd);
  const file = await readKnownSchema(env, schemaDigest(source.text), CHECKS_ID);
  return file
    ? {
        project: file.project.name,
        environments: Object.keys(file.environments),
        root: projectRoot(source.path),
      }
    : undefined;
}

export interface StatusNames {
  readonly project: string;
  readonly environments: readonly string[];
  readonly root: string;
}

/** One container or swarm service of an environment, as status shows it. */
export interface StatusEntry {
  readonly environment: string;
  readonly service: string;
  readonly stack: string;
  readonly container: string;
  readonly state: string;
  readonly health: string | null;
  readonly ports: readonly string[];
  readonly urls: readonly string[];
  readonly status: string;
  readonly swarm: boolean;
}

/** The containers and swarm services of one environment (or all), of these stacks when given, sorted. */
export async function readStatus(
  names: StatusNames,
  envName: string | undefined,
  stacks: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<StatusEntry[]> {
  const connection = dockerConnection(env);
  const environments = envName === undefined ? names.environments : [envName];
  const projects = new Map(environments.map((env) => [`${names.project}-${env}`, env]));
  // By compose's project label: services the user's overlay adds carry no stackctl label. Swarm
  // deployments by stackctl's labels, asked at the same time.
  // Only when this project deployed one of them to a swarm: a plain compose host pays nothing.
  const onSwarm = (await environmentsDeployedToSwarm(names.root)).some((env) => environments.includes(env));
  const [listed, swarm] = await Promise.all([
    listContainersByLabel(connection, [
      envName === undefined
        ? COMPOSE_LABELS.project
        : `${COMPOSE_LABELS.project}=${names.project}-${envName}`,
    ]),
    onSwarm
      ? listSwarmServicesByLabel(connection, [
          `${LABELS.project}=${names.project}`,
          ...(envName === undefined ? [] : [`${LABELS.environment}=${envName}`]),
        ])
      : [],
  ]);
  const swarmEntries = swarm.flatMap((service) => {
    const environment = service.labels[LABELS.environment] ?? '';
    if (!environments.includes(environment)) return [];
    const namespace = service.labels[SWARM_LABELS.namespace] ?? '';
    return [
      {
        environment,
        service: service.name.startsWith(`${namespace}_`)
          ? service.name.slice(namespace.length + 1)
          : service.name,
        stack: service.labels[LABELS.stack] ?? '',
        container: `swarm service ${service.name}`,
        state:
          service.running > 0
            ? 'running'
            : service.replicas === 0
              ? 'stopped'
              : (service.newest?.state ?? 'pending'),
        health: null,
        ports: service.ports.map((p) => `*:${p.hostPort}->${p.containerPort}`),
        urls: publishedUrls(service.ports.map((p) => ({ ...p, hostIp: '0.0.0.0' }))),
        status: `${service.running}/${service.replicas} tasks running${service.newest?.error ? ` (${service.newest.error})` : ''}`,
        swarm: true,
      },
    ];
  });
  const composeEntries = listed
    .filter((container) => container.labels[COMPOSE_LABELS.oneoff] !== 'True')
    .flatMap((container) => {
      const environment = projects.get(container.labels[COMPOSE_LABELS.project] ?? '');
      if (environment === undefined) return [];
      return [
        {
          environment,
          service: container.labels[COMPOSE_LABELS.service] ?? '',
          stack: container.labels[LABELS.stack] ?? '',
          container: container.name,
          state: container.state,
          health: container.health ?? null,
          ports: container.ports.map(
            (p) => `${p.hostIp === '' ? '0.0.0.0' : p.hostIp}:${p.hostPort}->${p.containerPort}`,
          ),
          urls: container.state === 'running' ? publishedUrls(container.ports) : [],
          status: container.status,
          swarm: false,
        },
      ];
    });
  return [...composeEntries, ...swarmEntries]
    .filter((entry) => stacks.length === 0 || stacks.includes(entry.stack))
    .sort((a, b) => compareText(a.environment, b.environment) || compareText(a.container, b.container));
}

/**
 * CPU and memory of each running container of these entries, from one stats round (every container
 * asked at once; Docker answers each after its two samples, about a second), and the GPU memory its
 * processes hold, from one nvidia-smi call (undefined on a host without one). Swarm services and
 * stopped containers get none.
 */
export async function readResources(
  entries: readonly StatusEntry[],
  env: NodeJS.ProcessEnv,
): Promise<{ usage: Map<string, ResourceUsage>; gpuMemory: Map<string, number> | undefined }> {
  const connection = dockerConnection(env);
  const running = entries.filter((entry) => !entry.swarm && entry.state === 'running');
  // Loaded here, not with the module: plain status (the quick path) never pays for execa.
  const [{ nvidiaSmiRunner }, { gpuMemoryByContainer }] = await Promise.all([
    import('../effects/nvidia-smi.js'),
    import('./gpu-usage.js'),
  ]);
  const [answers, table] = await Promise.all([
    Promise.all(running.map((entry) => containerStats(connection, entry.container))),
    nvidiaSmiRunner({ env })([]),
  ]);
  const usage = new Map(running.map((entry, i) => [entry.container, usageOf(answers[i])]));
  if (!table.found || table.exitCode !== 0) return { usage, gpuMemory: undefined };
  // The stats answers name each container's ID, which a GPU process's cgroup names.
  const byId = await gpuMemoryByContainer(table.output);
  const gpuMemory = new Map<string, number>();
  running.forEach((entry, i) => {
    const id = (answers[i] as { id?: string } | undefined)?.id;
    const mib = id === undefined ? undefined : byId.get(id);
    if (mib !== undefined) gpuMemory.set(entry.container, mib);
  });
  return { usage, gpuMemory };
}

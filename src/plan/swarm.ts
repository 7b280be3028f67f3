// The swarm stack file of an environment, rendered from what compose resolves (`docker compose config`
// over the generated files and the user's overlay) so a swarm deployment runs what a compose start
// would: the same images, commands, healthchecks, networks and volumes, with what swarm does
// differently translated (deploy policies, overlay networks, secrets as files, configs) and what it
// cannot do named in notes. Pure: the caller reads the configuration, creates secrets and deploys.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { LABELS } from '../labels.js';
import { projectNameOf, type EnvironmentModel } from '../model/environment.js';
import {
  asComposeDocument,
  replicasOf,
  secretHolding,
  servicesToRun,
  type ComposeResources,
  type ComposeService,
} from './compose-document.js';
import { compareText } from '../text.js';

/** The compose file formats `docker stack deploy` reads: 3.12 (docker 25 and later) adds start_interval. */
export const SWARM_FILE_VERSION = '3.9';
export const SWARM_FILE_VERSION_START_INTERVAL = '3.12';
/** Node-level generic resource GPU nodes advertise (dockerd `node-generic-resources`). */
export const SWARM_GPU_RESOURCE = 'NVIDIA-GPU';
/** The node label (set by the operator) that marks a swarm node with NVIDIA GPUs, for GPU monitors. */
export const SWARM_GPU_NODE_LABEL = 'stackctl.gpu';

export interface SwarmInputs {
  readonly model: EnvironmentModel;
  /** `docker compose config --format json` of the environment (interpolated: it holds secret values). */
  readonly effective: unknown;
  /** The environment's secret values by variable name; they never enter the stack file. */
  readonly secrets: ReadonlyMap<string, string>;
  /** sha256 of each generated config file the services mount, by absolute path. */
  readonly fileDigests: ReadonlyMap<string, string>;
  /** The project directory: files under it that services mount read-only become swarm configs. */
  readonly root: string;
  /** The docker CLI and the engine know start_interval (CLI 25+, API 1.44+). */
  readonly startInterval: boolean;
  /** The image the nodes pull for a service built from source (its registry copy). */
  readonly images?: ReadonlyMap<string, string>;
}

/** A Docker secret the stack refers to; stackctl creates it (value by variable) before deploying. */
export interface SwarmSecret {
  /** The Docker secret's name: project, variable and a digest of the value (a new value, a new name). */
  readonly name: string;
  readonly variable: string;
}

export interface SwarmStack {
  /** The stack namespace (`docker stack deploy NAME`): the environment's compose project. */
  readonly name: string;
  readonly document: SwarmDocument;
  readonly secrets: readonly SwarmSecret[];
  /** Secret variables the stack file refers to as ${NAME}: the deploying process's environment sets them. */
  readonly interpolated: readonly string[];
  /** What does not carry over from compose, one line each. */
  readonly notes: readonly string[];
}

export interface SwarmDocument {
  version: string;
  services: Record<string, Record<string, unknown>>;
  networks: Record<string, Record<string, unknown>>;
  volumes: Record<string, Record<string, unknown>>;
  secrets: Record<string, Record<string, unknown>>;
  configs: Record<string, Record<string, unknown>>;
}

/** Keys of a compose service swarm takes as they are. */
const PASSED_THROUGH = [
  'image',
  'command',
  'entrypoint',
  'user',
  'working_dir',
  'stop_grace_period',
  'stop_signal',
  'ulimits',
  'cap_add',
  'cap_drop',
  'logging',
  'tmpfs',
  'init',
  'hostname',
  'extra_hosts',
  'dns',
  'read_only',
  'sysctls',
  'tty',
  'stdin_open',
] as const;

/** Keys translated below, or that compose adds and swarm needs no word about. */
const HANDLED = new Set<string>([
  ...PASSED_THROUGH,
  'environment',
  'healthcheck',
  'labels',
  'networks',
  'ports',
  'volumes',
  'deploy',
  'restart',
  'depends_on',
  'profiles',
  'scale',
  'container_name',
  'build',
  'pull_policy',
]);

export function renderSwarmStack(inputs: SwarmInputs): SwarmStack {
  const { model } = inputs;
  const raw = asComposeDocument(inputs.effective);
  const notes: string[] = [];
  const secrets = new Map<string, SwarmSecret>();
  const document: SwarmDocument = {
    version: inputs.startInterval ? SWARM_FILE_VERSION_START_INTERVAL : SWARM_FILE_VERSION,
    services: {},
    networks: {},
    volumes: {},
    secrets: {},
    configs: {},
  };
  const hide = new SecretHider(inputs.secrets);
  const gpuCount = Number(model.values.get('GPU_COUNT') ?? '0') || 0;
  const selected = new Map(model.services.map((service) => [service.name, service]));
  const dropped = new Map<string, string[]>();

  for (const [name, service] of servicesToRun(raw, model)) {
    const resolved = selected.get(name);
    const out: Record<string, unknown> = {};
    for (const key of PASSED_THROUGH) if (service[key] != null) out[key] = hide.deep(service[key]);
    // compose names the image it builds <project>-<service>: the name swarm must find on each node.
    if (service.image == null) out['image'] = `${model.project}-${name}`;
    const pushed = inputs.images?.get(name);
    if (pushed !== undefined) out['image'] = pushed;
    for (const key of Object.keys(service))
      if (!HANDLED.has(key) && service[key] != null) dropped.set(key, [...(dropped.get(key) ?? []), name]);
    if (service.build != null && service.image == null && pushed === undefined)
      notes.push(`${name} is built from source: build and push its image to a registry every node reaches`);

    const environment = swarmEnvironment(service, {
      fileVariables: resolved?.definition.secretFiles ?? {},
      secrets: inputs.secrets,
      project: model.project,
      hide,
    });
    if (Object.keys(environment.values).length > 0) out['environment'] = environment.values;
    for (const secret of environment.secrets) {
      secrets.set(secret.name, secret);
      document.secrets[secret.key] = { external: true, name: secret.name };
    }
    if (environment.secrets.length > 0)
      out['secrets'] = environment.secrets.map((secret) => ({
        source: secret.key,
        target: secret.key,
        mode: 0o400,
      }));

    const healthcheck = swarmHealthcheck(service.healthcheck, inputs.startInterval);
    if (healthcheck) out['healthcheck'] = hide.deep(healthcheck);
    const labels = { ...(service.labels ?? {}) };
    if (Object.keys(labels).length > 0) out['labels'] = labels;
    const networks = Object.keys(service.networks ?? {});
    if (networks.length > 0) out['networks'] = networks;

    const ports = (service.ports ?? []).map((port) => ({
      target: port.target,
      ...(port.published === undefined || port.published === '' ? {} : { published: Number(port.published) }),
      protocol: port.protocol ?? 'tcp',
      mode: 'ingress',
    }));
    if (ports.length > 0) out['ports'] = ports;

    const mounts = swarmMounts(name, service, inputs);
    notes.push(...mounts.notes);
    for (const config of mounts.configs) document.configs[config.key] = config.definition;
    if (mounts.volumes.length > 0) out['volumes'] = mounts.volumes;
    if (mounts.configs.length > 0) out['configs'] = mounts.configs.map((config) => config.mount);

    out['deploy'] = swarmDeploy(service, labels, {
      job: resolved?.kind === 'job',
      stateful: mounts.volumes.some((volume) => volume['type'] === 'volume'),
      gpus: resolved?.gpu === true ? gpuCount : 0,
      gpuMonitor: resolved?.gpuMonitor === true,
    });
    document.services[name] = out;
  }

  for (const [key, network] of Object.entries(raw.networks ?? {})) {
    const subnet = model.networks.find((candidate) => candidate.name === key)?.subnet;
    document.networks[key] = {
      name: network.name ?? `${model.project}_${key}`,
      driver: 'overlay',
      attachable: true,
      ...(subnet ? { ipam: { config: [{ subnet }] } } : {}),
      labels: network.labels ?? projectLabels(model),
    };
  }
  for (const [key, volume] of Object.entries(raw.volumes ?? {})) {
    document.volumes[key] = {
      ...(volume.name ? { name: volume.name } : {}),
      ...(volume.external ? { external: true } : {}),
      labels: volume.labels ?? projectLabels(model),
    };
  }

  if (Object.values(raw.services ?? {}).some((service) => (service.ports ?? []).length > 0))
    notes.push(
      'swarm publishes ports on every address of every node (BIND_ADDRESS does not apply): firewall them',
    );
  for (const [key, services] of dropped)
    notes.push(`swarm has no ${key}: left out for ${services.join(', ')}`);
  const monitors = model.services.filter((service) => service.gpuMonitor).map((service) => service.name);
  if (monitors.length > 0)
    notes.push(
      `${monitors.join(', ')} run on every node labelled ${SWARM_GPU_NODE_LABEL}=true (docker node update --label-add ${SWARM_GPU_NODE_LABEL}=true NODE) and see its GPUs through the NVIDIA runtime (dockerd's default-runtime)`,
    );
  if (gpuCount > 0 && model.services.some((service) => service.gpu))
    notes.push(
      `GPU services reserve ${gpuCount} ${SWARM_GPU_RESOURCE} each: GPU nodes must advertise them (dockerd node-generic-resources)`,
    );

  return {
    name: model.project,
    document,
    secrets: [...secrets.values()].sort((a, b) => compareText(a.name, b.name)),
    interpolated: [...hide.interpolated].sort(),
    notes,
  };
}

/** Every secret value left in a string becomes ${VARIABLE}, set at deploy time from the secret store. */
class SecretHider {
  readonly interpolated = new Set<string>();
  private readonly longestFirst: [string, string][];

  constructor(secrets: ReadonlyMap<string, string>) {
    this.longestFirst = [...secrets]
      .filter(([, value]) => value !== '')
      .sort((a, b) => b[1].length - a[1].length);
  }

  text(text: string): string {
    let out = text;
    for (const [variable, value] of this.longestFirst) {
      if (!out.includes(value)) continue;
      out = out.split(value).join(`\${${variable}}`);
      this.interpolated.add(variable);
    }
    return out;
  }

  deep(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.deep(item));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, this.deep(inner)]));
    return value;
  }
}

/**
 * A service's environment with no secret value in it: a secret the image reads from a file is a
 * Docker secret under /run/secrets with the file variable pointing at it; any other becomes ${NAME}.
 */
function swarmEnvironment(
  service: ComposeService,
  options: {
    fileVariables: Readonly<Record<string, string>>;
    secrets: ReadonlyMap<string, string>;
    project: string;
    hide: SecretHider;
  },
): { values: Record<string, string>; secrets: (SwarmSecret & { key: string })[] } {
  const values: Record<string, string> = {};
  const secrets = new Map<string, SwarmSecret & { key: string }>();
  for (const [key, value] of Object.entries(service.environment ?? {})) {
    if (value === null) continue;
    const fileVariable = options.fileVariables[key];
    const variable = fileVariable === undefined ? undefined : secretHolding(value, options.secrets);
    if (fileVariable === undefined || variable === undefined) {
      values[key] = options.hide.text(value);
      continue;
    }
    const secretFile = secretKey(variable);
    secrets.set(secretFile, {
      ...swarmSecret(options.project, variable, options.secrets.get(variable) ?? ''),
      key: secretFile,
    });
    values[fileVariable] = `/run/secrets/${secretFile}`;
  }
  return { values, secrets: [...secrets.values()] };
}

/** Volumes as they are; generated config files (read-only, under the project) as swarm configs named by content. */
function swarmMounts(
  name: string,
  service: ComposeService,
  inputs: SwarmInputs,
): {
  volumes: Record<string, unknown>[];
  configs: { key: string; definition: Record<string, unknown>; mount: Record<string, unknown> }[];
  notes: string[];
} {
  const out = {
    volumes: [] as Record<string, unknown>[],
    configs: [] as { key: string; definition: Record<string, unknown>; mount: Record<string, unknown> }[],
    notes: [] as string[],
  };
  for (const volume of service.volumes ?? []) {
    const source = volume.source ?? '';
    const digest = inputs.fileDigests.get(source);
    if (volume.type === 'bind' && volume.read_only === true && digest !== undefined) {
      const key = configKey(`${name}_${posix.basename(source)}`);
      out.configs.push({
        key,
        definition: {
          name: `${inputs.model.project}_${key}_${digest.slice(0, 10)}`,
          file: source,
          labels: projectLabels(inputs.model),
        },
        mount: { source: key, target: volume.target, mode: 0o444 },
      });
      continue;
    }
    if (volume.type === 'bind')
      out.notes.push(
        `${name} mounts ${source} from the host: it must exist on every node the service runs on`,
      );
    out.volumes.push({
      type: volume.type,
      ...(volume.source === undefined ? {} : { source: volume.source }),
      target: volume.target,
      ...(volume.read_only === true ? { read_only: true } : {}),
    });
  }
  return out;
}

/** The stack file with only these services (and what they use): swarm starts what it is given. */
export function swarmSubset(document: SwarmDocument, services: Iterable<string>): SwarmDocument {
  const wanted = new Set(services);
  return {
    ...document,
    services: Object.fromEntries(Object.entries(document.services).filter(([name]) => wanted.has(name))),
  };
}

/** The labels stackctl finds an environment's swarm resources by. */
export function projectLabels(model: EnvironmentModel): Record<string, string> {
  return {
    [LABELS.project]: projectNameOf(model),
    [LABELS.environment]: model.name,
  };
}

export function swarmSecret(project: string, variable: string, value: string): SwarmSecret {
  const digest = createHash('sha256').update(value).digest('hex').slice(0, 12);
  return { name: `${project}_${secretKey(variable)}_${digest}`, variable };
}

function secretKey(variable: string): string {
  return variable.toLowerCase();
}

function configKey(relative: string): string {
  return relative
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

function swarmHealthcheck(
  check: Readonly<Record<string, unknown>> | null | undefined,
  startInterval: boolean,
): Record<string, unknown> | undefined {
  if (!check) return undefined;
  if (check['disable'] === true) return { disable: true };
  const out: Record<string, unknown> = {};
  const keys = [
    'test',
    'interval',
    'timeout',
    'retries',
    'start_period',
    ...(startInterval ? ['start_interval'] : []),
  ];
  for (const key of keys) if (check[key] != null) out[key] = check[key];
  return Object.keys(out).length > 0 ? out : undefined;
}

function swarmDeploy(
  service: ComposeService,
  labels: Record<string, string>,
  traits: { job: boolean; stateful: boolean; gpus: number; gpuMonitor: boolean },
): Record<string, unknown> {
  const resources = service.deploy?.resources;
  const limits = pickResources(resources?.limits);
  const reservations = pickResources(resources?.reservations);
  const generic =
    traits.gpus > 0
      ? [{ discrete_resource_spec: { kind: SWARM_GPU_RESOURCE, value: traits.gpus } }]
      : undefined;
  const reservationsOut = { ...reservations, ...(generic ? { generic_resources: generic } : {}) };
  return {
    // A job runs to completion once; deploying the same job again does not run it again.
    // A GPU monitor runs once on every GPU node (labelled so), reserving none of its GPUs.
    ...(traits.gpuMonitor
      ? { mode: 'global', placement: { constraints: [`node.labels.${SWARM_GPU_NODE_LABEL} == true`] } }
      : { mode: traits.job ? 'replicated-job' : 'replicated', replicas: replicasOf(service) }),
    labels,
    ...(limits || Object.keys(reservationsOut).length > 0
      ? {
          resources: {
            ...(limits ? { limits } : {}),
            ...(Object.keys(reservationsOut).length > 0 ? { reservations: reservationsOut } : {}),
          },
        }
      : {}),
    restart_policy: traits.job
      ? { condition: 'on-failure', max_attempts: 3 }
      : { condition: swarmRestart(service.restart), delay: '5s' },
    // A service holding data never runs twice on one volume; the others keep serving while updated.
    ...(traits.job
      ? {}
      : {
          update_config: {
            parallelism: 1,
            order: traits.stateful ? 'stop-first' : 'start-first',
            failure_action: 'rollback',
          },
          rollback_config: { parallelism: 1, order: traits.stateful ? 'stop-first' : 'start-first' },
        }),
  };
}

function pickResources(resources: ComposeResources | undefined): Record<string, string> | undefined {
  if (!resources) return undefined;
  const out: Record<string, string> = {};
  if (resources.cpus !== undefined && Number(resources.cpus) > 0) out['cpus'] = String(resources.cpus);
  if (resources.memory !== undefined && Number(resources.memory) !== 0)
    out['memory'] = String(resources.memory);
  return Object.keys(out).length > 0 ? out : undefined;
}

function swarmRestart(restart: string | undefined): string {
  if (restart === 'no') return 'none';
  if (restart === 'on-failure' || restart?.startsWith('on-failure:')) return 'on-failure';
  return 'any';
}

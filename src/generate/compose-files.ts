import { LABELS } from '../labels.js';
import { Document, isMap, isSeq } from 'yaml';
import type { EnvironmentModel, GpuSelection, ResolvedService } from '../model/environment.js';
import { stackOrder } from '../model/environment.js';
import { stackClosure } from '../schema/rules/networks.js';
import {
  configFilePath,
  LOG_ATTRIBUTE_LABELS,
  routedServices,
  scrapedServices,
  shipsLogs,
} from './config-files.js';
import type { HealthcheckDef, ServiceDef, StackFile } from '../schema/types.js';

export const COMPOSE_DIR = 'compose';
export const BASE_GROUP = 'base';
export const LOCAL_OVERRIDE = 'local.override.yml';

/** The compose file a stack's services live in: compose/<group>.yml. */
export function composeGroup(file: StackFile, stack: string): string {
  return file.stacks[stack]?.composeFile ?? BASE_GROUP;
}

export function groupFileName(group: string): string {
  return `${group}.yml`;
}

export function environmentFileName(environment: string): string {
  return `${environment}.override.yml`;
}

export function gpuFileName(profile: string, environment?: string): string {
  return environment === undefined ? `gpu-${profile}.yml` : `gpu-${profile}-${environment}.yml`;
}

/** Groups in the order compose reads them: base first, then as their stacks are ordered. */
export function composeGroups(file: StackFile): string[] {
  const groups = stackOrder(file).map((stack) => composeGroup(file, stack));
  return [...new Set([BASE_GROUP, ...groups])];
}

const STACKCTL_KEYS = new Set([
  'stack',
  'kind',
  'gpu',
  'description',
  'healthcheck',
  'route',
  'metrics',
  'configFiles',
  'backup',
  'indexRetention',
  'verify',
  'secretFiles',
  'hostAccess',
]);

/** compose/<group>.yml: the services of the group's stacks, active in the environments that list them. */
export function renderGroupFile(file: StackFile, group: string, header: readonly string[]): string {
  const services: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(file.services)) {
    if (composeGroup(file, def.stack) !== group) continue;
    services[name] = composeService(file, name, def);
  }
  const content: Record<string, unknown> = { services };
  if (group === BASE_GROUP) {
    content['networks'] = {
      ...Object.fromEntries(
        stackOrder(file).map((stack) => [
          file.stacks[stack]?.network ?? stack,
          { labels: { [LABELS.project]: file.project.name, [LABELS.stack]: stack } },
        ]),
      ),
      // Compose makes <project>_default only for a service on no network (one a user's overlay
      // adds): labelled, it is this project's, and wipe takes it with the rest.
      default: { labels: { [LABELS.project]: file.project.name } },
    };
    content['volumes'] = Object.fromEntries(
      Object.entries(file.volumes).map(([name, def]) => [
        name,
        { labels: { [LABELS.project]: file.project.name, [LABELS.data]: def.data } },
      ]),
    );
  }
  return stringify(header, content);
}

function composeService(file: StackFile, name: string, def: ServiceDef): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(def)) {
    if (!STACKCTL_KEYS.has(key)) out[key] = value;
  }
  const kind = def.kind ?? 'service';
  const profiles = Object.entries(file.environments)
    .filter(([, env]) => env.services.includes(name))
    .map(([envName]) => envName);
  // compose runs a service without profiles in every environment: one in no environment gets a
  // profile no environment activates (validate warns about it).
  out['profiles'] = profiles.length > 0 ? profiles : ['stackctl-in-no-environment'];
  out['restart'] = def.restart ?? (kind === 'job' ? 'no' : (file.project.restartPolicy ?? 'unless-stopped'));
  const reachable = new Set([def.stack, ...stackClosure(file.stacks, def.stack)]);
  out['networks'] = stackOrder(file)
    .filter((stack) => reachable.has(stack))
    .map((stack) => file.stacks[stack]?.network ?? stack);
  out['labels'] = { [LABELS.project]: file.project.name, [LABELS.stack]: def.stack, [LABELS.kind]: kind };
  // A GPU monitor sees every card of the host: a device request reserves none for itself alone.
  if (def.gpu === 'monitor') out['deploy'] = withDeviceRequest(def.deploy, { count: 'all' });
  const healthcheck = composeHealthcheck(file, def.healthcheck, undefined);
  if (healthcheck) out['healthcheck'] = healthcheck;
  return out;
}

function withDeviceRequest(deploy: ServiceDef['deploy'], request: Record<string, unknown>): unknown {
  const resources = deploy?.resources ?? {};
  const reservations = resources.reservations ?? {};
  return {
    ...deploy,
    resources: {
      ...resources,
      reservations: { ...reservations, devices: [{ driver: 'nvidia', ...request, capabilities: ['gpu'] }] },
    },
  };
}

const TIMING_KEYS = ['interval', 'timeout', 'retries', 'start_period', 'start_interval'] as const;

/** A service's healthcheck with its template's timings (or the environment's template) filled in. */
export function composeHealthcheck(
  file: StackFile,
  healthcheck: HealthcheckDef | undefined,
  environmentTemplate: string | undefined,
): Record<string, unknown> | undefined {
  if (!healthcheck) return undefined;
  if (healthcheck.disable === true) return { disable: true };
  const out: Record<string, unknown> = {};
  if (healthcheck.test !== undefined) out['test'] = healthcheck.test;
  const serviceTemplate =
    healthcheck.template === undefined ? undefined : file.healthcheckTemplates[healthcheck.template];
  const envTemplate =
    environmentTemplate === undefined ? undefined : file.healthcheckTemplates[environmentTemplate];
  for (const key of TIMING_KEYS) {
    const value = envTemplate ? envTemplate[key] : (healthcheck[key] ?? serviceTemplate?.[key]);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export interface EnvironmentOverrideInput {
  readonly file: StackFile;
  readonly model: EnvironmentModel;
  readonly header: readonly string[];
}

/** compose/<env>.override.yml: the environment's name, subnets, labels, limits, replicas and health timings. */
export function renderEnvironmentOverride({ file, model, header }: EnvironmentOverrideInput): string {
  const doc = new Document({}, { aliasDuplicateObjects: false });
  const services: Record<string, unknown> = {};
  const resetPorts: string[] = [];
  const logsShipped = shipsLogs(model);
  for (const service of model.services) {
    const override = model.definition.overrides?.[service.name];
    const entry: Record<string, unknown> = { labels: { [LABELS.environment]: model.name } };
    if (override) {
      const { publishPorts, healthcheck, ...composeKeys } = override;
      Object.assign(entry, composeKeys);
      if (healthcheck)
        entry['healthcheck'] = composeHealthcheck(
          file,
          { ...file.services[service.name]?.healthcheck, ...healthcheck },
          undefined,
        );
      if (publishPorts === false && (file.services[service.name]?.ports ?? []).length > 0)
        resetPorts.push(service.name);
    }
    Object.assign(entry, configFileWiring(model, service));
    // Filebeat keeps this environment's lines by the labels json-file writes into each of them.
    if (
      logsShipped &&
      file.services[service.name]?.['logging'] === undefined &&
      entry['logging'] === undefined
    )
      entry['logging'] = { driver: 'json-file', options: { labels: LOG_ATTRIBUTE_LABELS.join(',') } };
    if (model.definition.healthcheckTemplate !== undefined && entry['healthcheck'] === undefined) {
      const healthcheck = composeHealthcheck(
        file,
        file.services[service.name]?.healthcheck,
        model.definition.healthcheckTemplate,
      );
      if (healthcheck) entry['healthcheck'] = healthcheck;
    }
    services[service.name] = entry;
  }
  // A GPU monitor the environment lists but its GPU profile leaves out (no GPU to watch) must not
  // start under a plain `docker compose up` either, where its group's file is in the environment's.
  const present = new Set(model.services.map((service) => composeGroup(file, service.stack)));
  for (const name of model.definition.services) {
    const def = file.services[name];
    if (def?.gpu !== 'monitor' || services[name] !== undefined) continue;
    const group = composeGroup(file, def.stack);
    if (group === BASE_GROUP || present.has(group)) services[name] = { deploy: { replicas: 0 } };
  }
  doc.contents = doc.createNode(
    {
      name: model.project,
      services,
      networks: {
        ...Object.fromEntries(
          model.networks.map((network) => [
            network.name,
            { ipam: { config: [{ subnet: network.subnet }] }, labels: { [LABELS.environment]: model.name } },
          ]),
        ),
        default: { labels: { [LABELS.environment]: model.name } },
      },
      volumes: Object.fromEntries(
        Object.keys(file.volumes).map((name) => {
          // An existing volume (an imported installation's data): used as it is, never created.
          const external = model.definition.externalVolumes?.[name];
          return [
            name,
            external === undefined
              ? { labels: { [LABELS.environment]: model.name } }
              : { external: true, name: external },
          ];
        }),
      ),
    },
    { aliasDuplicateObjects: false },
  );
  // An external volume takes no labels: `!reset {}` drops the base file's for this environment.
  for (const name of Object.keys(model.definition.externalVolumes ?? {})) {
    const volumesNode = isMap(doc.contents) ? doc.contents.get('volumes', true) : undefined;
    const volumeNode = isMap(volumesNode) ? volumesNode.get(name, true) : undefined;
    if (isMap(volumeNode)) {
      const labels = doc.createNode({});
      if (isMap(labels)) labels.tag = '!reset';
      volumeNode.set('labels', labels);
    }
  }
  // Replicas cannot share a host port: `!reset []` drops the base file's ports for this environment.
  for (const name of resetPorts) {
    const servicesNode = isMap(doc.contents) ? doc.contents.get('services', true) : undefined;
    const serviceNode = isMap(servicesNode) ? servicesNode.get(name, true) : undefined;
    if (isMap(serviceNode)) {
      const ports = doc.createNode([]);
      if (isSeq(ports)) ports.tag = '!reset';
      serviceNode.set('ports', ports);
    }
  }
  return withHeader(header, doc.toString({ lineWidth: 0 }));
}

/**
 * What a service that mounts generated config files needs in an environment: the files (mounted
 * over the base file's mount of the same target), nginx started after every service it routes to
 * (it resolves their replicas when it starts), Prometheus on the networks of what it scrapes.
 */
function configFileWiring(model: EnvironmentModel, service: ResolvedService): Record<string, unknown> {
  const configs = service.definition.configFiles ?? [];
  if (configs.length === 0) return {};
  const wiring: Record<string, unknown> = {
    volumes: configs.map(
      (config) => `./${configFilePath(model.name, service.name, config.target)}:${config.target}:ro`,
    ),
  };
  const generators = new Set(configs.map((config) => config.generate));
  if (generators.has('nginx')) {
    const upstreams = routedServices(model).filter((routed) => routed.name !== service.name);
    if (upstreams.length > 0)
      wiring['depends_on'] = Object.fromEntries(
        upstreams.map((routed) => [routed.name, { condition: 'service_started' }]),
      );
  }
  if (generators.has('prometheus')) {
    const stackNetwork = (stack: string): string[] =>
      model.networks.filter((network) => network.stack === stack).map((network) => network.name);
    const networks = new Set(scrapedServices(model).flatMap((scraped) => stackNetwork(scraped.stack)));
    for (const own of service.networks) networks.delete(own);
    if (networks.size > 0) wiring['networks'] = [...networks];
  }
  return wiring;
}

/**
 * compose/gpu-<profile>.yml: NVIDIA device reservations for the GPU services. Device IDs come from
 * the profile's CUDA_VISIBLE_DEVICES (or the host layout recorded by `gpu configure`); the cpu
 * profile (no devices) reserves nothing at all.
 */
export function renderGpuOverlay(file: StackFile, gpu: GpuSelection, header: readonly string[]): string {
  const profile = file.gpuProfiles[gpu.profile];
  const devices = deviceIds(
    gpu.variables['CUDA_VISIBLE_DEVICES'] ?? String(profile?.variables['CUDA_VISIBLE_DEVICES'] ?? ''),
  );
  const services: Record<string, unknown> = {};
  if (devices.length > 0) {
    for (const [name, def] of Object.entries(file.services)) {
      if (def.gpu !== true) continue;
      services[name] = {
        deploy: {
          resources: {
            reservations: { devices: [{ driver: 'nvidia', device_ids: devices, capabilities: ['gpu'] }] },
          },
        },
      };
    }
  }
  const note =
    devices.length === 0
      ? [`# ${gpu.profile}: no GPU reservation; GPU services run on the CPU.`]
      : [`# ${gpu.profile}: GPU services get NVIDIA GPUs ${devices.join(', ')}.`];
  return stringify([...header, ...note], { services });
}

export function deviceIds(list: string): string[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function stringify(header: readonly string[], content: unknown): string {
  const doc = new Document(content, { aliasDuplicateObjects: false });
  return withHeader(header, doc.toString({ lineWidth: 0 }));
}

function withHeader(header: readonly string[], body: string): string {
  return `${header.join('\n')}\n${body}`;
}

import { parseCidr, subnetAt } from '../schema/cidr.js';
import { interpolate } from '../schema/interpolate.js';
import { stackClosure } from '../schema/rules/networks.js';
import type { EnvironmentDef, RetentionPolicyDef, ServiceDef, StackFile } from '../schema/types.js';
import type { PortDef } from '../schema/types.js';
import {
  applyOverride,
  environmentValues,
  parsePort,
  scalarText,
  splitOutsideBraces,
  type ParsedPort,
} from '../schema/values.js';

/** The GPU layout an environment runs with: a profile of the schema, and the values the host gave it. */
export interface GpuSelection {
  readonly profile: string;
  /** Host-specific values (device IDs, tensor parallel size) from `gpu configure`; may be empty. */
  readonly variables: Readonly<Record<string, string>>;
}

export interface PublishedPort extends ParsedPort {
  readonly service: string;
  /** The variable that sets the host port (POSTGRES_PORT in '${BIND_ADDRESS}:${POSTGRES_PORT}:5432'). */
  readonly hostPortVariable: string | undefined;
}

export interface ResolvedNetwork {
  readonly stack: string;
  /** The network's key in compose files (stacks.<stack>.network). */
  readonly name: string;
  readonly subnet: string;
}

export interface ResolvedService {
  readonly name: string;
  readonly stack: string;
  readonly kind: 'service' | 'job';
  /** It reserves the GPU profile's devices. */
  readonly gpu: boolean;
  /** It sees every GPU of its host and reserves none (`gpu: monitor`: a GPU exporter). */
  readonly gpuMonitor: boolean;
  /** The compose definition with the environment's override applied (still with ${VAR} references). */
  readonly definition: ServiceDef;
  /** Networks the service joins: its stack's and those of the stacks its stack depends on. */
  readonly networks: readonly string[];
  readonly ports: readonly PublishedPort[];
}

/** One environment, fully resolved: what runs, on which networks, with which values. */
export interface EnvironmentModel {
  readonly name: string;
  readonly definition: EnvironmentDef;
  /** The compose project name: <project>-<environment>, so environments never share resources. */
  readonly project: string;
  readonly gpu: GpuSelection;
  /** Non-secret variable values, as the env file will carry them. */
  readonly values: ReadonlyMap<string, string>;
  /** Stacks with at least one service in this environment, dependencies first. */
  readonly stacks: readonly string[];
  readonly services: readonly ResolvedService[];
  readonly networks: readonly ResolvedNetwork[];
}

/** The schema's project name of a resolved environment (its compose project less -<environment>). */
export function projectNameOf(model: EnvironmentModel): string {
  return model.project.slice(0, model.project.length - model.name.length - 1);
}

/** The compose project of an environment: <project>-<environment>, so environments never share resources. */
export function composeProjectName(file: StackFile, environment: string): string {
  return `${file.project.name}-${environment}`;
}

/** Resolves an environment of a valid stack file. Pure: the GPU selection comes from the caller. */
export function resolveEnvironment(file: StackFile, envName: string, gpu?: GpuSelection): EnvironmentModel {
  const definition = file.environments[envName];
  if (!definition) throw new Error(`unknown environment ${envName}`);
  const selection: GpuSelection = gpu ?? { profile: definition.gpu.profile, variables: {} };
  const values = resolveValues(file, definition, selection, file.backup?.retention?.[envName]);

  // A GPU monitor has nothing to watch under a profile without GPUs (cpu): it is left out.
  const hasGpus = (file.gpuProfiles[selection.profile]?.gpuCount ?? 0) > 0;
  const serviceNames = definition.services.filter(
    (name) => hasGpus || file.services[name]?.gpu !== 'monitor',
  );
  const usedStacks = new Set(serviceNames.map((name) => file.services[name]?.stack ?? ''));
  const stacks = stackOrder(file).filter((stack) => usedStacks.has(stack));
  // Services join their dependency stacks' networks too, so those networks need subnets here.
  const networkStacks = new Set(stacks.flatMap((stack) => [stack, ...stackClosure(file.stacks, stack)]));
  const pool = parseCidr(definition.addressPool);
  const networks: ResolvedNetwork[] = stackOrder(file)
    .filter((stack) => networkStacks.has(stack))
    .map((stack) => {
      const def = file.stacks[stack];
      const subnet = pool.ok && def ? subnetAt(pool.cidr, def.subnetSlot) : undefined;
      return { stack, name: def?.network ?? `${stack}-net`, subnet: subnet?.text ?? '' };
    });

  const apply = (text: string): string => interpolate(text, values).value;
  const services = serviceNames.map((name): ResolvedService => {
    const base = file.services[name] as ServiceDef;
    const service = applyOverride(base, definition.overrides?.[name]);
    const reachable = new Set([service.stack, ...stackClosure(file.stacks, service.stack)]);
    const ports = (service.ports ?? []).flatMap((port): PublishedPort[] => {
      const parsed = parsePort(port, apply);
      if (typeof parsed === 'string') return [];
      return [{ ...parsed, service: name, hostPortVariable: hostPortVariable(port) }];
    });
    return {
      name,
      stack: service.stack,
      kind: service.kind ?? 'service',
      gpu: service.gpu === true,
      gpuMonitor: service.gpu === 'monitor',
      definition: service,
      networks: networks.filter((network) => reachable.has(network.stack)).map((network) => network.name),
      ports,
    };
  });

  return {
    name: envName,
    definition,
    project: composeProjectName(file, envName),
    gpu: selection,
    values,
    stacks,
    services,
    networks,
  };
}

function hostPortVariable(port: PortDef): string | undefined {
  const text = typeof port === 'object' ? String(port.published ?? '') : typeof port === 'string' ? port : '';
  const parts = splitOutsideBraces(text.replace(/\/(tcp|udp)$/, ''));
  const hostPart = typeof port === 'object' ? text : parts.length >= 2 ? parts[parts.length - 2] : undefined;
  const match =
    hostPart === undefined ? null : /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}$/.exec(hostPart);
  return match?.[1];
}

function resolveValues(
  file: StackFile,
  env: EnvironmentDef,
  gpu: GpuSelection,
  policy: RetentionPolicyDef | undefined,
): Map<string, string> {
  // Defaults, the retention policy, the GPU profile, the host's layout, the environment's own values.
  const withProfile: EnvironmentDef = { ...env, gpu: { ...env.gpu, profile: gpu.profile }, variables: {} };
  const values = environmentValues(file, withProfile);
  for (const [name, def] of Object.entries(file.variables))
    if (def.fromRetention === 'metricsDays' && policy?.metricsDays !== undefined)
      values.set(name, `${policy.metricsDays}d`);
  for (const [name, value] of Object.entries(gpu.variables)) values.set(name, value);
  for (const [name, value] of Object.entries(env.variables ?? {})) values.set(name, scalarText(value));
  return values;
}

/** All stacks, each after the stacks it depends on (ties by declaration order). */
export function stackOrder(file: StackFile): string[] {
  const order: string[] = [];
  const visit = (name: string, trail: Set<string>): void => {
    if (order.includes(name) || trail.has(name)) return;
    trail.add(name);
    for (const dependency of file.stacks[name]?.dependsOn ?? []) visit(dependency, trail);
    order.push(name);
  };
  for (const name of Object.keys(file.stacks)) visit(name, new Set());
  return order;
}

/** Every host port the environment publishes, one entry per port of a range. */
export function publishedHostPorts(
  model: EnvironmentModel,
): { service: string; hostIp: string; port: number; protocol: 'tcp' | 'udp' }[] {
  const out: { service: string; hostIp: string; port: number; protocol: 'tcp' | 'udp' }[] = [];
  for (const service of model.services) {
    for (const port of service.ports) {
      if (!port.hostPorts) continue;
      for (let p = port.hostPorts[0]; p <= port.hostPorts[1]; p++) {
        out.push({ service: service.name, hostIp: port.hostIp, port: p, protocol: port.protocol });
      }
    }
  }
  return out;
}

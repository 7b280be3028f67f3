// The services of the original schema as stackctl services: keys copied, dropped (reported) or
// not understood (reported); environment values with well-known users and inline secret
// fallbacks taken out; ports published on ${BIND_ADDRESS} from a variable; GPU reservations
// replaced by `gpu: true`; then the stacks they group into, in dependency order.
import { findVariableReferences } from '../schema/interpolate.js';
import type { HealthcheckTemplateDef, ServiceDef, StackFile } from '../schema/types.js';
import {
  dnsName,
  environmentMap,
  isObject,
  SECRET_NAME,
  text,
  USER_KEY,
  WELL_KNOWN_USERS,
  type ConversionContext,
  type Json,
} from './convert-context.js';

const DROPPED_SERVICE_KEYS = new Set([
  'container_name',
  'profiles',
  'volumes_required',
  'category',
  'runtime',
  'stack',
  'networks',
  'env_file',
]);
const COPIED_SERVICE_KEYS = [
  'image',
  'command',
  'entrypoint',
  'shm_size',
  'ipc',
  'ulimits',
  'user',
  'working_dir',
  'cap_add',
  'cap_drop',
  'read_only',
  'tmpfs',
  'init',
  'stop_grace_period',
  'stop_signal',
  'sysctls',
  'extra_hosts',
  'security_opt',
] as const;

/** What converting the services found, for the sections after. */
export interface ConvertedServices {
  readonly services: Record<string, ServiceDef>;
  /** Every named volume: the schema's, and those the services mount. */
  readonly volumes: Set<string>;
  /** Host-port variables and their defaults. */
  readonly portVariables: Map<string, number>;
  /** Every ${VAR} the services use, with its inline fallback ('' when none). */
  readonly defaultsSeen: Map<string, string>;
  readonly stackOfService: Map<string, string>;
  /** User-name variables whose original value is a well-known one: name → that value. */
  readonly wellKnownUsers: Map<string, string>;
  /** Notes the ${VAR} references (and their fallbacks) in a value. */
  readonly noteReferences: (value: string) => void;
}

export function convertServices(
  ctx: ConversionContext,
  healthcheckTemplates: Readonly<Record<string, HealthcheckTemplateDef>>,
): ConvertedServices {
  const { doc } = ctx;
  const originalServices = isObject(doc['services']) ? doc['services'] : {};
  const defaultsSeen = new Map<string, string>();
  const converted: ConvertedServices = {
    services: {},
    volumes: new Set<string>(Object.keys(isObject(doc['volumes']) ? doc['volumes'] : {})),
    portVariables: new Map<string, number>(),
    defaultsSeen,
    stackOfService: new Map<string, string>(),
    wellKnownUsers: new Map<string, string>(),
    noteReferences: (value) => {
      for (const ref of findVariableReferences(value)) {
        const fallback = ref.modifier === ':-' || ref.modifier === '-' ? ref.operand : undefined;
        if (fallback !== undefined && !defaultsSeen.has(ref.name)) defaultsSeen.set(ref.name, fallback);
        if (!defaultsSeen.has(ref.name)) defaultsSeen.set(ref.name, '');
      }
    },
  };
  const declaredStacks = declaredStacksOf(doc);
  for (const [rawName, rawDef] of Object.entries(originalServices)) {
    if (!isObject(rawDef)) continue;
    const name = dnsName(rawName);
    const stack =
      declaredStacks.get(name) ?? dnsName(text(rawDef['stack']) || text(rawDef['category']) || 'app');
    converted.stackOfService.set(name, stack);
    converted.services[name] = convertService(ctx, converted, rawName, rawDef, stack, healthcheckTemplates);
  }
  dropDanglingDependencies(ctx, converted.services);
  return converted;
}

/** Later versions group services into stacks (stacks: {name: {services: [...]}}); else categories. */
function declaredStacksOf(doc: Json): Map<string, string> {
  const declaredStacks = new Map<string, string>();
  const groups = isObject(doc['stacks'])
    ? doc['stacks']
    : isObject(doc['stack_groups'])
      ? doc['stack_groups']
      : {};
  for (const [stack, spec] of Object.entries(groups)) {
    const members = Array.isArray(spec)
      ? spec
      : isObject(spec) && Array.isArray(spec['services'])
        ? spec['services']
        : [];
    for (const member of members)
      if (!declaredStacks.has(dnsName(text(member))))
        declaredStacks.set(dnsName(text(member)), dnsName(stack));
  }
  return declaredStacks;
}

function convertService(
  ctx: ConversionContext,
  converted: ConvertedServices,
  rawName: string,
  rawDef: Json,
  stack: string,
  healthcheckTemplates: Readonly<Record<string, HealthcheckTemplateDef>>,
): ServiceDef {
  const { say, schemaFile } = ctx;
  const { noteReferences, volumes } = converted;
  const path = ['services', rawName];
  const def: ServiceDef = { stack };
  if (rawDef['build'] !== undefined) def.build = rawDef['build'] as ServiceDef['build'];
  for (const key of COPIED_SERVICE_KEYS)
    if (rawDef[key] !== undefined) (def as Record<string, unknown>)[key] = rawDef[key];
  reportServiceKeys(ctx, rawName, rawDef, def);
  const environment = serviceEnvironment(ctx, converted, rawName, rawDef);
  if (Object.keys(environment).length > 0) def.environment = environment;
  for (const value of Object.values(environment)) noteReferences(value);
  if (typeof def.command === 'string') noteReferences(def.command);
  else if (Array.isArray(def.command)) for (const part of def.command) noteReferences(text(part));
  const ports = servicePorts(ctx, converted, rawName, rawDef);
  if (ports.length > 0) def.ports = ports;

  const mounts: string[] = [];
  for (const mount of Array.isArray(rawDef['volumes']) ? rawDef['volumes'] : []) {
    const spec = text(mount);
    const source = spec.split(':')[0] ?? '';
    if (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(source)) volumes.add(source);
    mounts.push(spec);
  }
  if (mounts.length > 0) def.volumes = mounts;

  const dependsOn = rawDef['depends_on'];
  if (Array.isArray(dependsOn) && dependsOn.length > 0)
    def.depends_on = Object.fromEntries(
      dependsOn.map((dep) => [dnsName(text(dep)), { condition: 'service_started' as const }]),
    );
  else if (isObject(dependsOn))
    def.depends_on = Object.fromEntries(
      Object.entries(dependsOn).map(([dep, spec]) => [
        dnsName(dep),
        isObject(spec) ? spec : { condition: 'service_started' },
      ]),
    );

  const healthcheck = rawDef['healthcheck'];
  if (isObject(healthcheck)) {
    const template = text(healthcheck['template']);
    def.healthcheck = {
      ...(healthcheck['test'] !== undefined ? { test: healthcheck['test'] as string[] } : {}),
      ...(template !== '' && healthcheckTemplates[template] ? { template } : {}),
      ...Object.fromEntries(
        ['interval', 'timeout', 'start_period']
          .filter((key) => healthcheck[key] !== undefined)
          .map((key) => [key, text(healthcheck[key])]),
      ),
      ...(healthcheck['retries'] !== undefined ? { retries: Number(healthcheck['retries']) } : {}),
    };
    if (def.healthcheck.template === undefined && def.healthcheck.interval === undefined)
      def.healthcheck.template = 'standard';
    const test = def.healthcheck.test;
    for (const part of Array.isArray(test) ? test : [text(test)]) noteReferences(part);
  }
  const deploy = rawDef['deploy'];
  if (isObject(deploy)) {
    const resources = isObject(deploy['resources']) ? deploy['resources'] : {};
    const reservations = isObject(resources['reservations']) ? { ...resources['reservations'] } : undefined;
    if (reservations && reservations['devices'] !== undefined) {
      delete reservations['devices'];
      def.gpu = true;
      say(
        'info',
        schemaFile,
        [...path, 'deploy'],
        'GPU device reservation',
        "replaced by gpu: true: the environment's GPU profile reserves the devices",
      );
    }
    const limits = isObject(resources['limits']) ? resources['limits'] : undefined;
    const kept = {
      ...(limits ? { limits } : {}),
      ...(reservations && Object.keys(reservations).length > 0 ? { reservations } : {}),
    };
    if (Object.keys(kept).length > 0 || deploy['replicas'] !== undefined)
      def.deploy = {
        ...(deploy['replicas'] !== undefined ? { replicas: Number(deploy['replicas']) } : {}),
        ...(Object.keys(kept).length > 0 ? { resources: kept } : {}),
      };
  }
  if (rawDef['restart'] !== undefined) def.restart = text(rawDef['restart']);
  return def;
}

/** Keys copied, dropped with a reason, or not understood; an image or a build is required. */
function reportServiceKeys(ctx: ConversionContext, rawName: string, rawDef: Json, def: ServiceDef): void {
  const { say, schemaFile } = ctx;
  const path = ['services', rawName];
  if (def.image === undefined && def.build === undefined) {
    say(
      'error',
      schemaFile,
      path,
      `${rawName} has neither image nor build`,
      'given image: REPLACE-ME; set its image',
    );
    def.image = 'replace-me:latest';
  }
  for (const key of Object.keys(rawDef)) {
    if (key === 'container_name')
      say(
        'info',
        schemaFile,
        [...path, key],
        `container_name "${text(rawDef[key])}" dropped`,
        'compose names containers per environment (<project>-<env>-<service>-N), so environments never collide',
      );
    else if (key === 'profiles')
      say(
        'info',
        schemaFile,
        [...path, key],
        'profiles dropped',
        'each environment lists its services instead',
      );
    else if (key === 'runtime' && text(rawDef[key]) === 'nvidia') def.gpu = true;
    else if (
      DROPPED_SERVICE_KEYS.has(key) ||
      key === 'build' ||
      key === 'environment' ||
      key === 'ports' ||
      key === 'volumes' ||
      key === 'depends_on' ||
      key === 'healthcheck' ||
      key === 'deploy' ||
      key === 'restart' ||
      key === 'expose' ||
      (COPIED_SERVICE_KEYS as readonly string[]).includes(key)
    )
      continue;
    else
      say(
        'warning',
        schemaFile,
        [...path, key],
        `service key "${key}" is not understood`,
        'left out; carry it over in compose/local.override.yml if it is needed',
      );
  }
}

/** The environment, its well-known user names and secrets with inline fallbacks made variables. */
function serviceEnvironment(
  ctx: ConversionContext,
  converted: ConvertedServices,
  rawName: string,
  rawDef: Json,
): Record<string, string> {
  const { say, schemaFile, projectName } = ctx;
  const { wellKnownUsers } = converted;
  const path = ['services', rawName];
  const environment = environmentMap(rawDef['environment']);
  for (const [key, value] of Object.entries(environment)) {
    const literalUser = USER_KEY.test(key) && WELL_KNOWN_USERS.has(value.trim().toLowerCase());
    if (literalUser) {
      environment[key] = `\${${key}}`;
      wellKnownUsers.set(key, value);
      say(
        'warning',
        schemaFile,
        [...path, 'environment'],
        `${rawName}: ${key} is the well-known "${value}"`,
        `now \${${key}}, ${projectName} by default`,
      );
    }
    const fallback = /^\$\{([A-Z][A-Z0-9_]*):?-[^}]*\}$/.exec(value);
    if (fallback?.[1] !== undefined && SECRET_NAME.test(fallback[1])) {
      environment[key] = `\${${fallback[1]}}`;
      say(
        'warning',
        schemaFile,
        [...path, 'environment'],
        `${rawName}: secret ${fallback[1]} had an inline fallback`,
        'now a secret stackctl generates; if someone issues it (an SMTP password), replace it after the import',
      );
    }
  }
  return environment;
}

/** Ports: the host side becomes ${BIND_ADDRESS}:${VAR}, the container side a number. */
function servicePorts(
  ctx: ConversionContext,
  converted: ConvertedServices,
  rawName: string,
  rawDef: Json,
): string[] {
  const { say, schemaFile } = ctx;
  const { portVariables } = converted;
  const name = dnsName(rawName);
  const path = ['services', rawName];
  const ports: string[] = [];
  (Array.isArray(rawDef['ports']) ? rawDef['ports'] : []).forEach((port, i) => {
    const spec = text(port);
    const match = /^(?:(.+):)?(\$\{[^}]+\}|\d+):(\$\{[^}]+\}|\d+)(\/(?:tcp|udp))?$/.exec(
      spec.replace(/^"|"$/g, ''),
    );
    if (!match) {
      say(
        'warning',
        schemaFile,
        [...path, 'ports', i],
        `port "${spec}" is not understood`,
        'left out; publish it in compose/local.override.yml',
      );
      return;
    }
    const [, , host = '', container = '', protocol = ''] = match;
    const containerPort = /^\d+$/.test(container) ? container : /:-(\d+)\}$/.exec(container)?.[1];
    if (containerPort === undefined) {
      say(
        'error',
        schemaFile,
        [...path, 'ports', i],
        `the container port of "${spec}" is a variable without a default`,
        'left out; publish it by hand',
      );
      return;
    }
    if (!/^\d+$/.test(container))
      say(
        'warning',
        schemaFile,
        [...path, 'ports', i],
        `"${spec}" sets the container port from a variable too: host and container ports conflated`,
        `container port fixed at ${containerPort}; only the host port is a variable`,
      );
    let variable = /^\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(host)?.[1];
    const hostDefault = /^\d+$/.test(host) ? host : /:-(\d+)\}$/.exec(host)?.[1];
    if (variable === undefined) {
      variable = `${name.toUpperCase().replace(/-/g, '_')}_PORT${ports.length > 0 ? `_${containerPort}` : ''}`;
      say(
        'info',
        schemaFile,
        [...path, 'ports', i],
        `host port ${host} was hardcoded`,
        `now \${${variable}} (default ${host})`,
      );
    }
    if (hostDefault !== undefined && !portVariables.has(variable))
      portVariables.set(variable, Number(hostDefault));
    if (!portVariables.has(variable)) portVariables.set(variable, Number(containerPort));
    ports.push(`\${BIND_ADDRESS}:\${${variable}}:${containerPort}${protocol}`);
  });
  return ports;
}

/** Depends_on naming a service that does not exist is dropped. */
function dropDanglingDependencies(ctx: ConversionContext, services: Record<string, ServiceDef>): void {
  const { say, schemaFile } = ctx;
  for (const [name, def] of Object.entries(services)) {
    if (!isObject(def.depends_on)) continue;
    for (const dep of Object.keys(def.depends_on))
      if (!services[dep]) {
        delete (def.depends_on as Record<string, unknown>)[dep];
        say(
          'warning',
          schemaFile,
          ['services', name, 'depends_on'],
          `${name} depends on "${dep}", which does not exist`,
          'dropped',
        );
      }
    if (Object.keys(def.depends_on).length === 0) delete def.depends_on;
  }
}

/** Stacks: one per category; a stack depends on the stacks its services depend on (cycles broken, reported). */
export function stacksOf(ctx: ConversionContext, converted: ConvertedServices): StackFile['stacks'] {
  const { say, schemaFile } = ctx;
  const { services, stackOfService } = converted;
  const stackNames = [...new Set(stackOfService.values())];
  const stackDeps = new Map<string, Set<string>>(stackNames.map((stack) => [stack, new Set<string>()]));
  for (const [name, def] of Object.entries(services))
    for (const dep of Object.keys(isObject(def.depends_on) ? def.depends_on : {})) {
      const from = def.stack;
      const to = services[dep]?.stack;
      if (to !== undefined && to !== from) stackDeps.get(from)?.add(to);
      void name;
    }
  // Break cycles by dropping the edge that closes one (reported).
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (stack: string): void => {
    if (order.includes(stack)) return;
    visiting.add(stack);
    for (const dep of [...(stackDeps.get(stack) ?? [])]) {
      if (visiting.has(dep)) {
        stackDeps.get(stack)?.delete(dep);
        say(
          'warning',
          schemaFile,
          ['services'],
          `stacks "${stack}" and "${dep}" depend on each other`,
          `"${stack}" no longer waits for "${dep}" as a stack; its services' depends_on still apply`,
        );
        continue;
      }
      visit(dep);
    }
    visiting.delete(stack);
    order.push(stack);
  };
  for (const stack of stackNames) visit(stack);
  return Object.fromEntries(
    order.map((stack, slot) => [
      stack,
      {
        description: `${stack} services (imported category)`,
        network: `${stack}-net`,
        subnetSlot: slot,
        dependsOn: [...(stackDeps.get(stack) ?? [])],
      },
    ]),
  );
}

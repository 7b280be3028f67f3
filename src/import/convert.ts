// Converts a project of the original scripts (schemas/compose-schema.yaml of the original format,
// configs/environment_schema.yaml, secrets/.env.<env>.json) into a stackctl schema and secret
// stores. Pure: parsed documents in, the new schema and a report of every liberty taken out.
import type { SecretStore } from '../generate/secrets.js';
import { findVariableReferences } from '../schema/interpolate.js';
import type { ReportEntry, ReportSeverity } from './report.js';
import { compareServiceEnvFiles, type ServiceEnvFile } from './service-env.js';
import type {
  DataKind,
  EnvironmentDef,
  HealthcheckTemplateDef,
  ServiceDef,
  ServiceOverrideDef,
  StackFile,
  VariableDef,
} from '../schema/types.js';

export interface SourceFile {
  /** As shown in the report: relative to the original project. */
  readonly path: string;
  readonly data: unknown;
  /** 1-based line of a YAML path (keys), for the report; undefined when unknown. */
  readonly lineOf: (path: readonly (string | number)[]) => number | undefined;
}

export interface OriginalProject {
  readonly schema: SourceFile;
  readonly environmentSchema?: SourceFile;
  /** secrets/.env.<env>.json (a flat NAME: value object), or values read from .env.<env>. */
  readonly secrets: ReadonlyMap<
    string,
    { readonly file: string; readonly values: Readonly<Record<string, string>>; readonly created?: string }
  >;
  /** `.env.d/*.env`: the per-service copies setup_secrets.py renders. */
  readonly serviceEnvFiles?: readonly ServiceEnvFile[];
}

export type { ReportEntry, ReportSeverity } from './report.js';

export interface Conversion {
  readonly file: StackFile;
  readonly stores: ReadonlyMap<string, SecretStore>;
  /** Every named volume of the imported schema. */
  readonly volumes: readonly string[];
  /** User-name variables whose original value was a well-known one (postgres, admin): name → value. */
  readonly originalUsers: ReadonlyMap<string, string>;
  readonly report: readonly ReportEntry[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : '';

const KNOWN_SECTIONS = new Set([
  'version',
  'config',
  'services',
  'environments',
  'volumes',
  'stacks',
  'stack_groups',
  'gpu',
  'gpu_config',
]);
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
const GPU_VARIABLES: Record<
  string,
  { type: VariableDef['type']; default: string | number; description: string }
> = {
  CUDA_VISIBLE_DEVICES: { type: 'string', default: '', description: 'GPUs the GPU services see' },
  NVIDIA_VISIBLE_DEVICES: { type: 'string', default: 'all', description: 'GPUs the NVIDIA runtime exposes' },
  VLLM_TENSOR_PARALLEL_SIZE: { type: 'integer', default: 1, description: 'vLLM tensor parallel size' },
  VLLM_PIPELINE_PARALLEL_SIZE: { type: 'integer', default: 1, description: 'vLLM pipeline parallel size' },
  CUDA_DEVICE_ORDER: { type: 'string', default: 'PCI_BUS_ID', description: 'CUDA device order' },
  GPU_COUNT: { type: 'integer', default: 0, description: 'GPUs used' },
};
/** Names the original used for secrets (its stores and .env files hold them). */
export const SECRET_NAME = /(PASSWORD|SECRET|_KEY$|TOKEN|SALT)/;
const USER_KEY = /(USER|USERNAME|LOGIN)$/;
const WELL_KNOWN_USERS = new Set([
  'admin',
  'administrator',
  'postgres',
  'root',
  'minioadmin',
  'minio',
  'user',
  'guest',
  'default',
  'test',
]);

/** A name the stackctl schema accepts for stacks and environments: lower-case DNS label. */
export function dnsName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned === '' ? 'default' : cleaned.slice(0, 40);
}

/** KEY=value list or mapping as a mapping; values keep their ${VAR} references. */
function environmentMap(value: unknown): Record<string, string> {
  if (Array.isArray(value)) {
    const out: Record<string, string> = {};
    for (const entry of value) {
      const line = text(entry);
      const at = line.indexOf('=');
      if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
    }
    return out;
  }
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, text(item)]));
  return {};
}

function guessDataKind(volume: string): { kind: DataKind; sure: boolean } {
  if (/cache/.test(volume))
    return { kind: /model|vllm|hf|hugging/.test(volume) ? 'models' : 'cache', sure: true };
  if (/model/.test(volume)) return { kind: 'models', sure: true };
  if (/log/.test(volume)) return { kind: 'logs', sure: true };
  if (/allure|jmeter|result|report/.test(volume)) return { kind: 'test-results', sure: false };
  if (/postgres|mysql|redis|qdrant|minio|elastic|mongo|db/.test(volume)) return { kind: 'db', sure: false };
  return { kind: 'app', sure: false };
}

function guessSecretType(name: string): string {
  if (/POSTGRES|DB_|DATABASE/.test(name) && /PASSWORD/.test(name)) return 'database_password';
  if (/MINIO|STORAGE|S3/.test(name)) return 'storage_password';
  if (/JWT/.test(name)) return 'jwt_secret';
  if (/WEBUI/.test(name)) return 'webui_secret';
  if (/ENCRYPTION/.test(name)) return 'encryption_key';
  if (/PASSWORD/.test(name)) return 'service_password';
  return 'api_key';
}

const SECRET_LENGTHS: Record<string, number> = {
  database_password: 32,
  storage_password: 32,
  api_key: 64,
  jwt_secret: 64,
  webui_secret: 32,
  service_password: 32,
  encryption_key: 32,
};

/** The original project, converted. */
export function convertOriginal(original: OriginalProject, now: Date): Conversion {
  const report: ReportEntry[] = [];
  const schemaFile = original.schema;
  const say = (
    severity: ReportSeverity,
    source: SourceFile,
    path: (string | number)[],
    message: string,
    action: string,
  ): void => {
    report.push({ severity, file: source.path, line: source.lineOf(path) ?? 1, message, action });
  };
  const doc = isObject(schemaFile.data) ? schemaFile.data : {};
  for (const section of Object.keys(doc))
    if (!KNOWN_SECTIONS.has(section))
      say(
        'warning',
        schemaFile,
        [section],
        `section "${section}" is not understood`,
        'left out; carry what it says over by hand',
      );
  if (doc['version'] !== undefined)
    say(
      'info',
      schemaFile,
      ['version'],
      `version: ${text(doc['version'])} is the obsolete compose file version`,
      'dropped',
    );

  const config = isObject(doc['config']) ? doc['config'] : {};
  const projectName = dnsName(text(config['project_name']) || 'multimodal');
  const subnet = text(
    (isObject(config['network']) && Array.isArray((config['network']['ipam'] as Json | undefined)?.['config'])
      ? ((config['network']['ipam'] as Json)['config'] as Json[])[0]?.['subnet']
      : undefined) ?? '',
  );
  if (subnet !== '')
    say(
      /^172\.(3[2-5])\./.test(subnet) ? 'warning' : 'info',
      schemaFile,
      ['config', 'network'],
      `one network ${subnet} for every service${/^172\.(3[2-5])\./.test(subnet) ? ' (a public range: 172.32-35 are not private)' : ''}`,
      'replaced by a private network per stack, from a private address pool per environment (10.30.0.0/16)',
    );

  // Health-check templates.
  const healthcheckTemplates: Record<string, HealthcheckTemplateDef> = {};
  const originalTemplates = isObject(config['health_checks']) ? config['health_checks'] : {};
  for (const [name, value] of Object.entries(originalTemplates)) {
    if (!isObject(value)) continue;
    healthcheckTemplates[dnsName(name).replace(/-/g, '_')] = {
      interval: text(value['interval']) || '30s',
      timeout: text(value['timeout']) || '10s',
      retries: Number(value['retries'] ?? 3),
      ...(value['start_period'] !== undefined ? { start_period: text(value['start_period']) } : {}),
    };
  }
  if (!healthcheckTemplates['standard'])
    healthcheckTemplates['standard'] = { interval: '30s', timeout: '10s', retries: 3 };

  // Variables: the environment schema first (typed), then every ${VAR} the services use.
  const variables: Record<string, VariableDef> = {};
  /** Variables the environment schema typed; the others are typed from the values seen. */
  const declaredTypes = new Set<string>();
  const envValues = new Map<string, Map<string, string>>();
  const envSchemaEnvs =
    original.environmentSchema &&
    isObject(original.environmentSchema.data) &&
    isObject(original.environmentSchema.data['environments'])
      ? original.environmentSchema.data['environments']
      : {};
  const memoryOf = new Map<string, number>();
  const gpuRequired = new Map<string, boolean>();
  for (const [envName, envDef] of Object.entries(envSchemaEnvs)) {
    if (!isObject(envDef)) continue;
    if (typeof envDef['memory_min_gb'] === 'number') memoryOf.set(envName, envDef['memory_min_gb']);
    if (typeof envDef['gpu_required'] === 'boolean') gpuRequired.set(envName, envDef['gpu_required']);
    const values = new Map<string, string>();
    for (const [name, spec] of Object.entries(isObject(envDef['variables']) ? envDef['variables'] : {})) {
      if (!isObject(spec) || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
      const type = text(spec['type']);
      if (!variables[name]) {
        declaredTypes.add(name);
        if (type === 'secret') {
          variables[name] = {
            type: 'secret',
            secretType: text(spec['secret_type']) || guessSecretType(name),
            description: text(spec['description']) || name,
          };
        } else {
          variables[name] = {
            type: type === 'integer' || type === 'float' || type === 'boolean' ? type : 'string',
            description: text(spec['description']) || name,
          };
        }
      }
      if (spec['value'] !== null && spec['value'] !== undefined && type !== 'secret')
        values.set(name, text(spec['value']));
    }
    envValues.set(envName, values);
  }

  // Services.
  const services: Record<string, ServiceDef> = {};
  const originalServices = isObject(doc['services']) ? doc['services'] : {};
  const volumes = new Set<string>(Object.keys(isObject(doc['volumes']) ? doc['volumes'] : {}));
  const portVariables = new Map<string, number>();
  const defaultsSeen = new Map<string, string>();
  const noteReferences = (value: string): void => {
    for (const ref of findVariableReferences(value)) {
      const fallback = ref.modifier === ':-' || ref.modifier === '-' ? ref.operand : undefined;
      if (fallback !== undefined && !defaultsSeen.has(ref.name)) defaultsSeen.set(ref.name, fallback);
      if (!defaultsSeen.has(ref.name)) defaultsSeen.set(ref.name, '');
    }
  };
  // Later versions group services into stacks (stacks: {name: {services: [...]}}); else categories.
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
  const stackOfService = new Map<string, string>();
  /** User-name variables whose original value is a well-known one: name → that value. */
  const wellKnownUsers = new Map<string, string>();
  for (const [rawName, rawDef] of Object.entries(originalServices)) {
    if (!isObject(rawDef)) continue;
    const name = dnsName(rawName);
    const path = ['services', rawName];
    const stack =
      declaredStacks.get(name) ?? dnsName(text(rawDef['stack']) || text(rawDef['category']) || 'app');
    stackOfService.set(name, stack);
    const def: ServiceDef = { stack };
    if (rawDef['build'] !== undefined) def.build = rawDef['build'] as ServiceDef['build'];
    for (const key of COPIED_SERVICE_KEYS)
      if (rawDef[key] !== undefined) (def as Record<string, unknown>)[key] = rawDef[key];
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
    if (Object.keys(environment).length > 0) def.environment = environment;
    for (const value of Object.values(environment)) noteReferences(value);
    if (typeof def.command === 'string') noteReferences(def.command);
    else if (Array.isArray(def.command)) for (const part of def.command) noteReferences(text(part));

    // Ports: the host side becomes ${BIND_ADDRESS}:${VAR}, the container side a number.
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
    services[name] = def;
  }
  // Depends_on naming a service that does not exist is dropped.
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

  // Stacks: one per category; a stack depends on the stacks its services depend on.
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
  const stacks = Object.fromEntries(
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

  // Variables the services use and no schema declared.
  variables['BIND_ADDRESS'] ??= {
    type: 'string',
    description: 'Host address every published port binds to',
    default: '127.0.0.1',
  };
  say(
    'info',
    schemaFile,
    ['services'],
    'ports were published on every interface (0.0.0.0)',
    'now bound to ${BIND_ADDRESS}, 127.0.0.1 by default; set it to expose them',
  );
  for (const [name, spec] of Object.entries(GPU_VARIABLES))
    variables[name] ??= { type: spec.type, description: spec.description, default: spec.default };
  for (const [name, port] of portVariables) {
    const existing = variables[name];
    if (existing && existing.type !== 'secret') {
      variables[name] = {
        ...existing,
        type: 'integer',
        minimum: 1,
        maximum: 65535,
        default: existing.default ?? port,
      };
    } else
      variables[name] = {
        type: 'integer',
        description: `Host port of ${name.replace(/_PORT.*$/, '').toLowerCase()}`,
        default: port,
        minimum: 1,
        maximum: 65535,
      };
  }
  for (const [name, fallback] of defaultsSeen) {
    if (variables[name]) {
      if (variables[name].default === undefined && variables[name].type !== 'secret' && fallback !== '')
        variables[name] = { ...variables[name], default: fallback };
      continue;
    }
    variables[name] = SECRET_NAME.test(name)
      ? { type: 'secret', secretType: guessSecretType(name), description: name }
      : { type: 'string', description: name, default: fallback };
    if (SECRET_NAME.test(name))
      say(
        'info',
        schemaFile,
        ['services'],
        `${name} is used by the services and looks like a secret`,
        'declared a secret variable; check its type',
      );
  }
  // Secrets the stores hold that nothing declares are kept and declared, so no value is lost.
  for (const [, store] of original.secrets)
    for (const name of Object.keys(store.values))
      if (/^[A-Z][A-Z0-9_]*$/.test(name) && !variables[name])
        variables[name] = {
          type: 'secret',
          secretType: guessSecretType(name),
          description: `${name} (imported from the original secret store)`,
        };
  // Defaults: the value shared by the environments that set one.
  for (const [name, def] of Object.entries(variables)) {
    if (def.type === 'secret' || def.default !== undefined) continue;
    const first = [...envValues.values()]
      .map((values) => values.get(name))
      .find((value) => value !== undefined);
    def.default = typedDefault(def, first ?? '');
  }
  for (const def of Object.values(variables))
    if (def.type !== 'secret' && def.type !== 'string' && def.default !== undefined)
      def.default = typedDefault(def, text(def.default));
  // A well-known user name (postgres, minioadmin, admin) becomes the project's name by default; the
  // environments whose data exists keep the original (their database role was made with it).
  for (const [name, def] of Object.entries(variables)) {
    if (def.type === 'secret' || !USER_KEY.test(name)) continue;
    const value = text(def.default);
    if (WELL_KNOWN_USERS.has(value.toLowerCase())) wellKnownUsers.set(name, value);
  }
  for (const [name, value] of wellKnownUsers) {
    variables[name] = {
      ...(variables[name] ?? { type: 'string', description: name }),
      type: 'string',
      default: projectName,
    };
    say(
      'warning',
      original.environmentSchema ?? schemaFile,
      [],
      `${name} was the well-known "${value}"`,
      `default now "${projectName}"; an environment whose existing volumes are kept keeps "${value}" (its data was made with it)`,
    );
  }
  const secretTypes = Object.fromEntries(
    [
      ...new Set(
        Object.values(variables)
          .filter((def) => def.type === 'secret')
          .map((def) => def.secretType ?? 'api_key'),
      ),
    ].map((type) => [
      type,
      {
        description: `${type.replace(/_/g, ' ')} (imported)`,
        length: SECRET_LENGTHS[type] ?? 32,
        rotationDays: 90,
      },
    ]),
  );

  // Volumes and their data kinds.
  const volumeDefs = Object.fromEntries(
    [...volumes].sort().map((volume) => {
      const guess = guessDataKind(volume);
      if (!guess.sure)
        say(
          'info',
          schemaFile,
          ['volumes', volume],
          `volume ${volume}: data kind guessed as ${guess.kind}`,
          'check it: wipe --data and backups go by it',
        );
      return [volume, { data: guess.kind, description: `${volume} (imported)` }];
    }),
  );

  // Environments.
  const environments: Record<string, EnvironmentDef> = {};
  const originalEnvs = isObject(doc['environments']) ? doc['environments'] : {};
  const envNames = [...new Set([...Object.keys(originalEnvs), ...Object.keys(envSchemaEnvs)])];
  envNames.forEach((rawEnv, index) => {
    const env = dnsName(rawEnv);
    const raw = isObject(originalEnvs[rawEnv]) ? originalEnvs[rawEnv] : {};
    const fromSchema = isObject(envSchemaEnvs[rawEnv]) ? envSchemaEnvs[rawEnv] : {};
    const listed = (
      Array.isArray(raw['services'])
        ? raw['services']
        : Array.isArray(fromSchema['services'])
          ? fromSchema['services']
          : []
    ).map((s) => dnsName(text(s)));
    const missing = listed.filter((service) => !services[service]);
    if (missing.length > 0)
      say(
        'warning',
        original.schema,
        ['environments', rawEnv, 'services'],
        `${rawEnv} lists services that are not defined: ${missing.join(', ')}`,
        'left out of the environment',
      );
    const present = [...new Set(listed.filter((service) => services[service]))];
    if (present.length === 0) {
      say(
        'warning',
        original.schema,
        ['environments', rawEnv],
        `${rawEnv} has no service the schema defines`,
        'left out',
      );
      return;
    }
    const overrides: Record<string, ServiceOverrideDef> = {};
    const rawOverrides = isObject(raw['overrides']) ? raw['overrides'] : {};
    const envVariables: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(rawOverrides)) {
      if (key === 'debug') envVariables['DEBUG'] = isScalar(value) ? value : text(value);
      else if (key === 'log_level') envVariables['LOG_LEVEL'] = text(value);
      else if (key === 'replicas' && isObject(value)) {
        for (const [service, count] of Object.entries(value)) {
          const name = dnsName(service);
          if (!present.includes(name) || Number(count) === 1) continue;
          overrides[name] = {
            ...overrides[name],
            deploy: { ...overrides[name]?.deploy, replicas: Number(count) },
            publishPorts: false,
          };
          say(
            'info',
            original.schema,
            ['environments', rawEnv, 'overrides', 'replicas', service],
            `${service} runs ${String(count)} replicas`,
            'its host ports are dropped in this environment (replicas cannot share one); reach it through nginx or the network',
          );
        }
      } else if (key === 'resources' && isObject(value)) {
        for (const [service, resources] of Object.entries(value)) {
          const name = dnsName(service);
          if (present.includes(name) && isObject(resources))
            overrides[name] = {
              ...overrides[name],
              deploy: { ...overrides[name]?.deploy, resources: resources },
            };
        }
      } else if (isObject(value) && services[dnsName(key)]) {
        const name = dnsName(key);
        if (!present.includes(name)) continue;
        const override: ServiceOverrideDef = { ...overrides[name] };
        for (const [field, fieldValue] of Object.entries(value)) {
          if (field === 'image' || field === 'command' || field === 'shm_size' || field === 'ipc')
            (override as Record<string, unknown>)[field] = fieldValue;
          else if (field === 'environment') {
            const map = environmentMap(fieldValue);
            for (const item of Object.values(map)) noteReferences(item);
            override.environment = map;
          } else if (field === 'deploy') {
            say(
              'info',
              original.schema,
              ['environments', rawEnv, 'overrides', key, field],
              `${key}: a GPU device list per environment`,
              "replaced by the environment's GPU profile (stackctl gpu configure)",
            );
          } else
            say(
              'warning',
              original.schema,
              ['environments', rawEnv, 'overrides', key, field],
              `override "${field}" of ${key} is not understood`,
              'left out',
            );
        }
        if (Object.keys(override).length > 0) overrides[name] = override;
      } else
        say(
          'warning',
          original.schema,
          ['environments', rawEnv, 'overrides', key],
          `override "${key}" is not understood`,
          'left out',
        );
    }
    // Values of the environment schema that differ from the defaults.
    for (const [name, value] of envValues.get(rawEnv) ?? []) {
      const def = variables[name];
      if (!def || def.type === 'secret' || text(def.default) === value || wellKnownUsers.has(name)) continue;
      envVariables[name] = typedDefault(def, value);
    }
    const needsGpu = gpuRequired.get(rawEnv) ?? present.some((service) => services[service]?.gpu === true);
    environments[env] = {
      description: text(raw['description']) || text(fromSchema['description']) || `${rawEnv} (imported)`,
      gpu: needsGpu
        ? { required: true, profile: 'multi', fallback: 'single' }
        : { required: false, profile: 'cpu' },
      memoryMinimumGb: memoryOf.get(rawEnv) ?? 8,
      addressPool: `10.30.${(index * 16) % 256}.0/20`,
      services: present,
      ...(Object.keys(envVariables).length > 0 ? { variables: envVariables } : {}),
      ...(Object.keys(overrides).length > 0 ? { overrides } : {}),
    };
  });
  for (const name of ['DEBUG', 'LOG_LEVEL']) {
    if (Object.values(environments).some((env) => env.variables?.[name] !== undefined) && !variables[name])
      variables[name] =
        name === 'DEBUG'
          ? { type: 'boolean', description: 'Debug mode', default: false }
          : { type: 'string', description: 'Log level', default: 'INFO' };
  }

  report.push(...reconcileVariableTypes(variables, environments, declaredTypes, schemaFile));

  const file: StackFile = {
    version: 1,
    project: {
      name: projectName,
      description: `Imported from ${schemaFile.path}`,
      restartPolicy: text(config['default_restart_policy']) || 'unless-stopped',
    },
    healthcheckTemplates,
    secretTypes,
    variables,
    gpuProfiles: {
      multi: {
        description: 'Every GPU, tensor parallel over two',
        gpuCount: 2,
        variables: {
          CUDA_VISIBLE_DEVICES: '0,1',
          NVIDIA_VISIBLE_DEVICES: '0,1',
          VLLM_TENSOR_PARALLEL_SIZE: 2,
          VLLM_PIPELINE_PARALLEL_SIZE: 1,
          CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
          GPU_COUNT: 2,
        },
      },
      single: {
        description: 'One GPU',
        gpuCount: 1,
        variables: {
          CUDA_VISIBLE_DEVICES: '0',
          NVIDIA_VISIBLE_DEVICES: '0',
          VLLM_TENSOR_PARALLEL_SIZE: 1,
          VLLM_PIPELINE_PARALLEL_SIZE: 1,
          CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
          GPU_COUNT: 1,
        },
      },
      cpu: {
        description: 'No GPU',
        gpuCount: 0,
        variables: {
          CUDA_VISIBLE_DEVICES: '',
          NVIDIA_VISIBLE_DEVICES: 'void',
          VLLM_TENSOR_PARALLEL_SIZE: 1,
          VLLM_PIPELINE_PARALLEL_SIZE: 1,
          CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
          GPU_COUNT: 0,
        },
      },
    },
    stacks,
    volumes: volumeDefs,
    services,
    environments,
  };
  // The original's first run (make first-run): wipe development, fresh secrets, start.
  const firstRunEnvironment = environments['development'] ? 'development' : Object.keys(environments)[0];
  if (firstRunEnvironment !== undefined) {
    file.firstRun = {
      description: `Wipe ${firstRunEnvironment}, regenerate its secrets, start it (the original make first-run)`,
      environment: firstRunEnvironment,
      regenerateSecrets: true,
    };
    say(
      'info',
      schemaFile,
      ['environments'],
      `the first-run flow is ${firstRunEnvironment}'s`,
      'stackctl start first-run (it asks before it wipes)',
    );
  }

  // Secret stores: every value kept, as it is; what only the per-service copies hold, too.
  const copies = compareServiceEnvFiles(
    original.serviceEnvFiles ?? [],
    original.secrets,
    (name) => SECRET_NAME.test(name),
    firstRunEnvironment,
  );
  report.push(...copies.report);
  const sources = new Map(original.secrets);
  if (copies.environment !== undefined && Object.keys(copies.additions).length > 0) {
    const existing = sources.get(copies.environment);
    sources.set(copies.environment, {
      file: existing?.file ?? '.env.d/',
      ...(existing?.created !== undefined ? { created: existing.created } : {}),
      values: { ...copies.additions, ...existing?.values },
    });
    for (const name of Object.keys(copies.additions)) {
      const type = variables[name]?.secretType ?? guessSecretType(name);
      variables[name] ??= {
        type: 'secret',
        secretType: type,
        description: `${name} (imported from .env.d/)`,
      };
      secretTypes[type] ??= {
        description: `${type.replace(/_/g, ' ')} (imported)`,
        length: SECRET_LENGTHS[type] ?? 32,
        rotationDays: 90,
      };
    }
  }
  const stores = new Map<string, SecretStore>();
  for (const [rawEnv, source] of sources) {
    const env = dnsName(rawEnv);
    const created = source.created ?? now.toISOString();
    const secrets: SecretStore['secrets'] = {};
    for (const [name, value] of Object.entries(source.values)) {
      if (value === '') continue;
      const type = variables[name]?.secretType ?? guessSecretType(name);
      const rotationDays = secretTypes[type]?.rotationDays ?? 90;
      secrets[name] = {
        value,
        type,
        createdAt: created,
        rotationDueAt: new Date(Date.parse(created) + rotationDays * 86_400_000).toISOString(),
      };
    }
    stores.set(env, {
      version: 1,
      environment: env,
      secrets: Object.fromEntries(Object.entries(secrets).sort(([a], [b]) => (a < b ? -1 : 1))),
    });
    if (!environments[env])
      report.push({
        severity: 'warning',
        file: source.file,
        line: 1,
        message: `secrets of "${rawEnv}", an environment the schema does not have`,
        action: 'kept in secrets/ all the same',
      });
  }
  return { file, stores, volumes: [...volumes].sort(), originalUsers: wellKnownUsers, report };
}

function typedDefault(def: VariableDef, value: string): string | number | boolean {
  if (def.type === 'integer' && /^-?\d+$/.test(value)) return Number(value);
  if (def.type === 'float' && value !== '' && Number.isFinite(Number(value))) return Number(value);
  if (def.type === 'boolean' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (def.type === 'integer' || def.type === 'float' || def.type === 'boolean') def.type = 'string';
  return value;
}

const isScalar = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

type ScalarType = 'boolean' | 'integer' | 'float' | 'string';

/** Whether a value, read as compose reads it (as text), is one of a type. */
function fits(type: ScalarType, value: string | number | boolean): boolean {
  const written = String(value);
  if (type === 'boolean') return /^(true|false)$/i.test(written);
  if (type === 'integer') return /^-?\d+$/.test(written);
  if (type === 'float') return written.trim() !== '' && Number.isFinite(Number(written));
  return true;
}

/** The narrowest type every value fits. */
function narrowestType(values: readonly (string | number | boolean)[]): ScalarType {
  for (const type of ['boolean', 'integer', 'float'] as const)
    if (values.length > 0 && values.every((value) => fits(type, value))) return type;
  return 'string';
}

function coerce(type: ScalarType, value: string | number | boolean): string | number | boolean {
  const written = String(value);
  if (type === 'boolean') return written.toLowerCase() === 'true';
  if (type === 'integer' || type === 'float') return Number(written);
  return written;
}

/**
 * Gives every plain variable one type that all the evidence fits: its default, the value each
 * environment sets, and the type the environment schema declared. A variable only the services'
 * ${VAR:-default} references name takes the narrowest type of its values; a declared type is kept
 * while every value fits it, else widened. Values are then written in that type: a conflict is
 * settled the way compose reads the value (as its text), reported, never fatal.
 */
export function reconcileVariableTypes(
  variables: Record<string, VariableDef>,
  environments: Record<string, EnvironmentDef>,
  declaredTypes: ReadonlySet<string>,
  source: SourceFile,
): ReportEntry[] {
  const report: ReportEntry[] = [];
  for (const [name, def] of Object.entries(variables)) {
    if (def.type === 'secret') continue;
    const setBy = Object.entries(environments).filter(([, env]) => env.variables?.[name] !== undefined);
    const evidence = [
      ...(def.default !== undefined ? [def.default] : []),
      ...setBy.map(([, env]) => env.variables?.[name] as string | number | boolean),
    ];
    if (evidence.length === 0) continue;
    const declared = def.type;
    let type: ScalarType;
    if (declaredTypes.has(name) || def.minimum !== undefined || def.maximum !== undefined)
      type = evidence.every((value) => fits(declared, value)) ? declared : narrowestType(evidence);
    else type = narrowestType(evidence);
    const retyped = type !== declared;
    const valuesSet = [...new Set(setBy.map(([, env]) => JSON.stringify(env.variables?.[name])))].join(', ');
    const rewritten = setBy.filter(([, env]) => {
      const value = env.variables?.[name] as string | number | boolean;
      return typeof coerce(type, value) !== typeof value;
    });
    if (retyped) {
      def.type = type;
      if (type === 'string' || type === 'boolean') {
        delete def.minimum;
        delete def.maximum;
      }
    }
    if (def.default !== undefined) def.default = coerce(type, def.default);
    for (const [, env] of setBy)
      if (env.variables) env.variables[name] = coerce(type, env.variables[name] as string | number | boolean);
    if ((retyped && declaredTypes.has(name)) || rewritten.length > 0)
      report.push({
        severity: 'info',
        file: source.path,
        line: 1,
        message: `${name}: ${declaredTypes.has(name) ? `declared ${declared}` : `typed ${declared} from its default`}, while ${
          setBy.length > 0
            ? `${setBy.map(([env]) => env).join(', ')} set ${valuesSet}`
            : 'its default is another type'
        }`,
        action: `typed ${type}, the values written as compose reads them (as text: ${evidence
          .slice(0, 3)
          .map((value) => JSON.stringify(String(value)))
          .join(', ')})`,
      });
  }
  return report;
}

// The environments of the imported schema: the services each lists (those the schema defines),
// its overrides (replicas, resources, per-service fields) and the values its environment schema
// sets apart from the defaults, a GPU profile and an address pool of its own.
import type { EnvironmentDef, ServiceOverrideDef } from '../schema/types.js';
import {
  dnsName,
  environmentMap,
  isObject,
  isScalar,
  text,
  typedDefault,
  type ConversionContext,
  type Json,
} from './convert-context.js';
import type { ConvertedServices } from './convert-services.js';
import type { EnvironmentSchemaFacts } from './convert-variables.js';

export function convertEnvironments(
  ctx: ConversionContext,
  facts: EnvironmentSchemaFacts,
  converted: ConvertedServices,
): Record<string, EnvironmentDef> {
  const { say, original, doc } = ctx;
  const { variables, envValues, envSchemaEnvs, memoryOf, gpuRequired } = facts;
  const { services, wellKnownUsers } = converted;
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
    const { overrides, envVariables } = convertOverrides(ctx, converted, rawEnv, raw, present);
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
  return environments;
}

/** An environment's overrides: debug and log level as variables, replicas, resources, per-service fields. */
function convertOverrides(
  ctx: ConversionContext,
  converted: ConvertedServices,
  rawEnv: string,
  raw: Json,
  present: readonly string[],
): {
  overrides: Record<string, ServiceOverrideDef>;
  envVariables: Record<string, string | number | boolean>;
} {
  const { say, original } = ctx;
  const { services, noteReferences } = converted;
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
  return { overrides, envVariables };
}

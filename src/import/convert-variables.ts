// The variables of the imported schema: typed first from the environment schema, then every
// ${VAR} the services use (their inline fallbacks as defaults), the secrets the stores hold, the
// GPU variables; defaults taken from the environments; well-known user names replaced by the
// project's name. Then the secret types they use, and the volumes with their data kinds.
import type { SecretTypeDef, VariableDef, VolumeDef } from '../schema/types.js';
import {
  guessDataKind,
  guessSecretType,
  isObject,
  SECRET_LENGTHS,
  SECRET_NAME,
  text,
  typedDefault,
  USER_KEY,
  WELL_KNOWN_USERS,
  type ConversionContext,
  type Json,
} from './convert-context.js';
import type { OriginalProject } from './convert-context.js';
import type { ConvertedServices } from './convert-services.js';

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

/** What configs/environment_schema.yaml declares: typed variables and each environment's values. */
export interface EnvironmentSchemaFacts {
  readonly variables: Record<string, VariableDef>;
  /** Variables the environment schema typed; the others are typed from the values seen. */
  readonly declaredTypes: Set<string>;
  /** Per environment (its original name), the values it sets. */
  readonly envValues: Map<string, Map<string, string>>;
  /** Its environments section. */
  readonly envSchemaEnvs: Json;
  readonly memoryOf: Map<string, number>;
  readonly gpuRequired: Map<string, boolean>;
}

export function environmentSchemaOf(original: OriginalProject): EnvironmentSchemaFacts {
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
  return { variables, declaredTypes, envValues, envSchemaEnvs, memoryOf, gpuRequired };
}

/** Declares what the services use and no schema declared, and settles every default. */
export function completeVariables(
  ctx: ConversionContext,
  facts: EnvironmentSchemaFacts,
  converted: ConvertedServices,
): void {
  const { say, schemaFile, original, projectName } = ctx;
  const { variables, envValues } = facts;
  const { portVariables, defaultsSeen, wellKnownUsers } = converted;
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
}

/** The secret types the secret variables use, with a length and a rotation period each. */
export function secretTypesOf(
  variables: Readonly<Record<string, VariableDef>>,
): Record<string, SecretTypeDef> {
  return Object.fromEntries(
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
}

/** Volumes and their data kinds (a guess is reported: wipe --data and backups go by it). */
export function volumeDefsOf(
  ctx: ConversionContext,
  volumes: ReadonlySet<string>,
): Record<string, VolumeDef> {
  const { say, schemaFile } = ctx;
  return Object.fromEntries(
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
}

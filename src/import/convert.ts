// Converts a project of the original scripts (schemas/compose-schema.yaml of the original format,
// configs/environment_schema.yaml, secrets/.env.<env>.json) into a stackctl schema and secret
// stores. Pure: parsed documents in, the new schema and a report of every liberty taken out. One
// function per section of the original, in the order each needs the one before; all write to one
// report.
import type { SecretStore } from '../generate/secrets.js';
import type { HealthcheckTemplateDef, StackFile } from '../schema/types.js';
import {
  dnsName,
  isObject,
  text,
  type Conversion,
  type ConversionContext,
  type Json,
  type OriginalProject,
} from './convert-context.js';
import { convertEnvironments } from './convert-environments.js';
import { firstRunOf, secretStoresOf } from './convert-secrets.js';
import { convertServices, stacksOf } from './convert-services.js';
import { completeVariables, environmentSchemaOf, secretTypesOf, volumeDefsOf } from './convert-variables.js';
import type { ReportEntry } from './report.js';
import { reconcileVariableTypes } from './variable-types.js';

export { dnsName, SECRET_NAME } from './convert-context.js';
export { reconcileVariableTypes } from './variable-types.js';

export type { Conversion, OriginalProject, SourceFile } from './convert-context.js';
export type { ReportEntry, ReportSeverity } from './report.js';

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

/** The original project, converted. */
export function convertOriginal(original: OriginalProject, now: Date): Conversion {
  const schemaFile = original.schema;
  const doc = isObject(schemaFile.data) ? schemaFile.data : {};
  const config = isObject(doc['config']) ? doc['config'] : {};
  const report: ReportEntry[] = [];
  const ctx: ConversionContext = {
    original,
    schemaFile,
    doc,
    config,
    projectName: dnsName(text(config['project_name']) || 'multimodal'),
    report,
    say: (severity, source, path, message, action) =>
      report.push({ severity, file: source.path, line: source.lineOf(path) ?? 1, message, action }),
  };
  reportTopLevel(ctx);
  const healthcheckTemplates = healthcheckTemplatesOf(config);
  const facts = environmentSchemaOf(original);
  const converted = convertServices(ctx, healthcheckTemplates);
  const stacks = stacksOf(ctx, converted);
  completeVariables(ctx, facts, converted);
  const { variables, declaredTypes } = facts;
  const secretTypes = secretTypesOf(variables);
  const volumeDefs = volumeDefsOf(ctx, converted.volumes);
  const environments = convertEnvironments(ctx, facts, converted);
  report.push(...reconcileVariableTypes(variables, environments, declaredTypes, schemaFile));
  const file = stackFileOf(ctx, {
    healthcheckTemplates,
    secretTypes,
    variables,
    stacks,
    volumes: volumeDefs,
    services: converted.services,
    environments,
  });
  const firstRunEnvironment = firstRunOf(ctx, file);
  const stores: ReadonlyMap<string, SecretStore> = secretStoresOf(ctx, file, firstRunEnvironment, now);
  return {
    file,
    stores,
    volumes: [...converted.volumes].sort(),
    originalUsers: converted.wellKnownUsers,
    report,
  };
}

/** Sections not understood, the obsolete version key, the one network of the original. */
function reportTopLevel(ctx: ConversionContext): void {
  const { say, schemaFile, doc, config } = ctx;
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
}

/** Health-check templates, and `standard` (what a service without its own healthcheck timing uses). */
function healthcheckTemplatesOf(config: Json): Record<string, HealthcheckTemplateDef> {
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
  return healthcheckTemplates;
}

/** The imported schema: the sections converted, the project, and the three GPU profiles. */
function stackFileOf(
  ctx: ConversionContext,
  sections: Pick<
    StackFile,
    'healthcheckTemplates' | 'secretTypes' | 'variables' | 'stacks' | 'volumes' | 'services' | 'environments'
  >,
): StackFile {
  const { schemaFile, config, projectName } = ctx;
  const {
    healthcheckTemplates,
    secretTypes,
    variables,
    stacks,
    volumes: volumeDefs,
    services,
    environments,
  } = sections;
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
  return file;
}

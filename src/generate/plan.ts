import { posix } from 'node:path';
import { resolveEnvironment, type GpuSelection } from '../model/environment.js';
import type { StackFile } from '../schema/types.js';
import {
  COMPOSE_DIR,
  LOCAL_OVERRIDE,
  composeGroup,
  composeGroups,
  deviceIds,
  environmentFileName,
  gpuFileName,
  groupFileName,
  renderEnvironmentOverride,
  renderGpuOverlay,
  renderGroupFile,
} from './compose-files.js';
import { renderConfigFiles } from './config-files.js';
import { renderEnvFile, type TemplateSources } from './env-file.js';
import { generatedHeader, schemaHash } from './header.js';
import { renderKubernetesSecret } from './k8s-secret.js';
import { serializeSecretStore, type SecretStore } from './secrets.js';

export const SECRETS_DIR = 'secrets';

/** A file generate writes: path relative to the project root (POSIX separators). */
export interface FileSpec {
  readonly path: string;
  readonly content: string;
  /** 0600 for anything holding a secret value, else 0644. */
  readonly mode: number;
}

export interface EnvironmentFiles {
  readonly name: string;
  readonly envFile: string;
  /** In the order compose must read them. */
  readonly composeFiles: readonly string[];
}

export interface GenerationInput {
  readonly file: StackFile;
  readonly schemaText: string;
  /** The schema's path relative to the project root, as headers name it. */
  readonly schemaPath: string;
  readonly environments: readonly string[];
  /** Complete secret stores (ensureSecrets done) per environment. */
  readonly secrets: ReadonlyMap<string, SecretStore>;
  /** The GPU layout recorded by `gpu configure`, per environment, when there is one. */
  readonly gpu: ReadonlyMap<string, GpuSelection>;
  readonly templates: TemplateSources;
  /** compose/local.override.yml exists: it is read last and never written. */
  readonly localOverride: boolean;
  /**
   * Leave out the files that carry secret values for environments without a secret store (drift
   * checks on a CI runner, where secrets are never present): only shareable files are compared.
   */
  readonly shareableOnlyWithoutSecrets?: boolean;
}

export interface GenerationPlan {
  readonly files: readonly FileSpec[];
  readonly environments: readonly EnvironmentFiles[];
}

/** Every file for the chosen environments, from the schema alone: pure and deterministic. */
export function planGeneration(input: GenerationInput): GenerationPlan {
  const { file } = input;
  const header = generatedHeader(input.schemaPath, schemaHash(input.schemaText));
  const files: FileSpec[] = [];
  const compose = (name: string): string => posix.join(COMPOSE_DIR, name);

  for (const group of composeGroups(file)) {
    files.push({
      path: compose(groupFileName(group)),
      content: renderGroupFile(file, group, header),
      mode: 0o644,
    });
  }
  for (const profile of Object.keys(file.gpuProfiles)) {
    files.push({
      path: compose(gpuFileName(profile)),
      content: renderGpuOverlay(file, { profile, variables: {} }, header),
      mode: 0o644,
    });
  }

  const environments: EnvironmentFiles[] = [];
  const secretNames = Object.entries(file.variables)
    .filter(([, def]) => def.type === 'secret')
    .map(([name]) => name);
  for (const envName of input.environments) {
    const definition = file.environments[envName];
    if (!definition) continue;
    const recorded = input.gpu.get(envName);
    const model = resolveEnvironment(file, envName, recorded);
    const existing = input.secrets.get(envName);
    const store = existing ?? { version: 1 as const, environment: envName, secrets: {} };
    const envFile = `.env.${envName}`;
    if (existing !== undefined || input.shareableOnlyWithoutSecrets !== true) {
      files.push({
        path: posix.join(SECRETS_DIR, `.env.${envName}.json`),
        content: serializeSecretStore(store),
        mode: 0o600,
      });
      const envText = renderEnvFile({ file, model, secrets: store, header, templates: input.templates });
      files.push({ path: envFile, content: envText, mode: secretNames.length > 0 ? 0o600 : 0o644 });
      files.push({
        path: `k8s-secrets-${envName}.yaml`,
        content: renderKubernetesSecret(file.project.name, envName, secretNames, store, header),
        mode: 0o600,
      });
    }

    const overridePath = compose(environmentFileName(envName));
    files.push({
      path: overridePath,
      content: renderEnvironmentOverride({ file, model, header }),
      mode: 0o644,
    });

    for (const config of renderConfigFiles(file, model, header)) {
      files.push({ path: config.path, content: config.content, mode: 0o644 });
    }

    const gpuPath = gpuOverlayFor(file, model.gpu, envName);
    if (gpuPath.custom) {
      files.push({
        path: compose(gpuPath.name),
        content: renderGpuOverlay(file, model.gpu, header),
        mode: 0o644,
      });
    }

    const groups = composeGroups(file).filter(
      (group) =>
        group === 'base' || model.services.some((service) => composeGroup(file, service.stack) === group),
    );
    environments.push({
      name: envName,
      envFile,
      composeFiles: [
        ...groups.map((group) => compose(groupFileName(group))),
        compose(gpuPath.name),
        overridePath,
        ...(input.localOverride ? [compose(LOCAL_OVERRIDE)] : []),
      ],
    });
  }
  return { files, environments };
}

/** The shared profile overlay, or an environment's own when its recorded devices differ from the profile's. */
function gpuOverlayFor(
  file: StackFile,
  gpu: GpuSelection,
  envName: string,
): { name: string; custom: boolean } {
  const recorded = gpu.variables['CUDA_VISIBLE_DEVICES'];
  const profileDevices = String(file.gpuProfiles[gpu.profile]?.variables['CUDA_VISIBLE_DEVICES'] ?? '');
  if (recorded === undefined || deviceIds(recorded).join(',') === deviceIds(profileDevices).join(',')) {
    return { name: gpuFileName(gpu.profile), custom: false };
  }
  return { name: gpuFileName(gpu.profile, envName), custom: true };
}

// The original's first run and its secret stores: every value kept as it is (never regenerated),
// with what only the per-service copies (.env.d/) hold, typed and given its rotation date.
import type { SecretStore } from '../generate/secrets.js';
import type { SecretTypeDef, StackFile, VariableDef } from '../schema/types.js';
import {
  dnsName,
  guessSecretType,
  SECRET_LENGTHS,
  SECRET_NAME,
  type ConversionContext,
} from './convert-context.js';
import { compareServiceEnvFiles } from './service-env.js';

/** The original's first run (make first-run): wipe development, fresh secrets, start. */
export function firstRunOf(ctx: ConversionContext, file: StackFile): string | undefined {
  const { say, schemaFile } = ctx;
  const { environments } = file;
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
  return firstRunEnvironment;
}

/** Secret stores: every value kept, as it is; what only the per-service copies hold, too. */
export function secretStoresOf(
  ctx: ConversionContext,
  file: StackFile,
  firstRunEnvironment: string | undefined,
  now: Date,
): Map<string, SecretStore> {
  const { original, report } = ctx;
  const { environments } = file;
  const variables: Record<string, VariableDef> = file.variables;
  const secretTypes: Record<string, SecretTypeDef> = file.secretTypes;
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
  return stores;
}

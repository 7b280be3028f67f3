// The original's `.env.d/` folder: setup_secrets.py renders one env file per service there from the
// environment it was last run for, so each holds copies of that environment's secrets. Pure: which
// environment the copies belong to, what they hold that the stores do not (kept), and where they
// disagree with the store (reported, never printed).
import type { ReportEntry } from './report.js';

export interface ServiceEnvFile {
  /** As shown in the report: `.env.d/core.env`. */
  readonly file: string;
  /** NAME → value, in file order, with the 1-based line of each. */
  readonly entries: readonly { readonly name: string; readonly value: string; readonly line: number }[];
}

export interface SecretSource {
  readonly file: string;
  readonly values: Readonly<Record<string, string>>;
}

export interface ServiceEnvComparison {
  /** The environment the copies were rendered for, when one can be told. */
  readonly environment: string | undefined;
  /** Secret values found only in `.env.d/`: kept in that environment's store. */
  readonly additions: Readonly<Record<string, string>>;
  readonly report: readonly ReportEntry[];
}

/**
 * Compares the per-service copies with the stores. The environment is the one whose store agrees
 * with most of the copies; with no store agreeing, the only environment that has one, else
 * `fallback` (the environment setup_secrets.py defaults to).
 */
export function compareServiceEnvFiles(
  files: readonly ServiceEnvFile[],
  stores: ReadonlyMap<string, SecretSource>,
  isSecretName: (name: string) => boolean,
  fallback: string | undefined,
): ServiceEnvComparison {
  const secrets = files.flatMap((file) =>
    file.entries
      .filter((entry) => isSecretName(entry.name) && entry.value !== '')
      .map((entry) => ({ ...entry, file: file.file })),
  );
  if (secrets.length === 0) return { environment: undefined, additions: {}, report: [] };
  let environment: string | undefined;
  let best = 0;
  for (const [env, store] of [...stores].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const agreeing = secrets.filter((entry) => store.values[entry.name] === entry.value).length;
    if (agreeing > best) [environment, best] = [env, agreeing];
  }
  environment ??= stores.size === 1 ? [...stores.keys()][0] : fallback;
  const report: ReportEntry[] = [];
  if (environment === undefined) {
    report.push({
      severity: 'warning',
      file: '.env.d/',
      line: 1,
      message: `${secrets.length} secret values in per-service env files, and no environment they can be told to belong to`,
      action: 'not imported; set them with stackctl secrets set ENV NAME if a running service uses them',
    });
    return { environment, additions: {}, report };
  }
  const store = stores.get(environment);
  const additions: Record<string, string> = {};
  const differing = new Map<string, string[]>();
  for (const entry of secrets) {
    const stored = store?.values[entry.name];
    if (stored === undefined) {
      if (additions[entry.name] === undefined) additions[entry.name] = entry.value;
      else if (additions[entry.name] !== entry.value)
        differing.set(entry.name, [...(differing.get(entry.name) ?? []), `${entry.file}:${entry.line}`]);
    } else if (stored !== entry.value)
      differing.set(entry.name, [...(differing.get(entry.name) ?? []), `${entry.file}:${entry.line}`]);
  }
  const agreeing = secrets.length - Object.keys(additions).length - [...differing.values()].flat().length;
  report.push({
    severity: 'info',
    file: '.env.d/',
    line: 1,
    message: `${files.length} per-service env files (setup_secrets.py's copies for ${environment}): ${agreeing} secret values agree with ${store?.file ?? 'no store'}`,
    action: 'not imported as files: stackctl generate writes each environment’s env file from the store',
  });
  if (Object.keys(additions).length > 0)
    report.push({
      severity: 'info',
      file: '.env.d/',
      line: 1,
      message: `${Object.keys(additions).sort().join(', ')} only in .env.d/`,
      action: `kept in ${environment}'s secret store as they are`,
    });
  for (const [name, places] of differing)
    report.push({
      severity: 'warning',
      file: places[0]?.split(':')[0] ?? '.env.d/',
      line: Number(places[0]?.split(':')[1] ?? 1),
      message: `${name} has another value in ${places.join(', ')} than the one kept (${store?.values[name] !== undefined ? store.file : 'its first copy'})`,
      action: `the store's value is kept; if a running service uses the other, set it with stackctl secrets set ${environment} ${name}`,
    });
  return { environment, additions, report };
}

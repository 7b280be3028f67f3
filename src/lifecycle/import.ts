// stackctl import as a workflow: read the original project (confined to its folder, bounded in
// size, nothing but regular files), convert it (src/import/, pure), find the volumes holding its
// data, validate the result, then write every file or none. Files an existing project had are
// kept in a backup folder before --force replaces them.
import { copyFile, readdir, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { StackctlError } from '../errors.js';
import { SECRETS_DIR } from '../generate/plan.js';
import { serializeSecretStore } from '../generate/secrets.js';
import {
  convertOriginal,
  SECRET_NAME,
  type Conversion,
  type OriginalProject,
  type ReportEntry,
  type SourceFile,
} from '../import/convert.js';
import { pgvectorForInitScripts, projectMountSources } from '../import/init-scripts.js';
import type { ServiceEnvFile } from '../import/service-env.js';
import { convertTemplates, type TemplateSource } from '../import/templates.js';
import { COMPOSE_LABELS } from '../labels.js';
import type { StackFile } from '../schema/types.js';
import { validateStackText } from '../schema/validate.js';
import { dockerClient } from '../effects/docker.js';
import {
  ensureDirectory,
  exists,
  FileTooLargeError,
  NotAFileError,
  OutsideFolderError,
  readConfinedText,
  writeFileAtomic,
} from '../effects/files.js';

/** The largest file import reads: the original's schemas and templates are tens of kilobytes. */
export const IMPORT_MAX_FILE_BYTES = 4 * 1024 * 1024;

export interface ImportRequest {
  /** The original project's folder (absolute). */
  readonly from: string;
  /** Where the stackctl project goes (absolute). */
  readonly out: string;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly now: Date;
}

export interface ImportOutcome {
  readonly valid: boolean;
  /** Paths relative to `out`, written (or, on a dry run, that would be). */
  readonly files: readonly string[];
  /** Where the files --force replaced were kept (relative to `out`), when any were. */
  readonly replacedKeptIn?: string;
  readonly replaced: readonly string[];
  readonly keptSecrets: number;
  /** Volumes of the original the imported environments mount; empty when none. */
  readonly keptVolumes: Readonly<Record<string, string>>;
  readonly report: readonly ReportEntry[];
}

interface PlannedFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** A YAML file with a way back from a key path to its line, for the report. */
function yamlSource(path: string, text: string): SourceFile {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: false });
  if (doc.errors.length > 0)
    throw new StackctlError(
      'E_USAGE',
      `${path} is not YAML stackctl can read: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`,
      { hint: 'fix the file, then import again' },
    );
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  } catch (error) {
    // yaml refuses alias expansion past the limit ("excessive alias count"): a billion-laughs file.
    throw new StackctlError(
      'E_USAGE',
      `${path} expands too many YAML aliases: ${(error as Error).message.split('\n')[0]}`,
      { hint: 'an original schema needs no more than a few hundred; check where the file came from' },
    );
  }
  return {
    path,
    data,
    lineOf: (keys) => {
      let node: unknown = doc.contents;
      let offset: number | undefined;
      for (const key of keys) {
        if (isMap(node)) {
          const pair = node.items.find(
            (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key),
          );
          if (!pair || !isPair(pair)) break;
          offset = (pair.key as Node).range?.[0];
          node = pair.value;
        } else if (isSeq(node) && typeof key === 'number') {
          node = node.items[key];
          offset = (node as Node | undefined)?.range?.[0];
        } else break;
      }
      return offset === undefined ? undefined : counter.linePos(offset).line;
    },
  };
}

/** Reads a file of the original project: inside its folder, a regular file, of a sane size. */
function reader(root: string): (path: string) => Promise<string | undefined> {
  return (path) => readConfinedText(root, path, { maxBytes: IMPORT_MAX_FILE_BYTES });
}

/** A file that cannot be read as it should (a link out, a FIFO, too large): one report line. */
function unreadable(path: string, error: unknown): ReportEntry | undefined {
  if (
    error instanceof OutsideFolderError ||
    error instanceof NotAFileError ||
    error instanceof FileTooLargeError
  )
    return {
      severity: 'warning',
      file: path,
      line: 1,
      message: error.message.replace(/^.*? is /, 'it is ').replace(/^.*? leads/, 'it leads'),
      action: 'not read',
    };
  return undefined;
}

async function names(folder: string): Promise<string[]> {
  return (await readdir(folder).catch(() => [] as string[])).sort();
}

/** Every environment's secrets: secrets/.env.<env>.json first, else the secret names of .env.<env>. */
async function readSecrets(root: string, report: ReportEntry[]): Promise<OriginalProject['secrets']> {
  const read = reader(root);
  const found = new Map<string, { file: string; values: Record<string, string>; created?: string }>();
  for (const name of await names(join(root, 'secrets'))) {
    const match = /^\.env\.([A-Za-z0-9_-]+)\.json$/.exec(name);
    if (!match?.[1]) continue;
    const file = `secrets/${name}`;
    // A store that cannot be read is fatal: its values must be kept.
    const text = (await read(file)) ?? '';
    let values: unknown;
    try {
      values = JSON.parse(text);
    } catch {
      throw new StackctlError('E_USAGE', `${file} is not JSON`, {
        hint: 'restore it, then import again: its values must be kept',
      });
    }
    const metadata = await read(`secrets/.env.${match[1]}.metadata`).catch(() => undefined);
    const created = /"(?:created|generated)(?:_at)?"\s*:\s*"([^"]+)"/.exec(metadata ?? '')?.[1];
    found.set(match[1], {
      file,
      values: Object.fromEntries(
        Object.entries(typeof values === 'object' && values !== null ? values : {}).filter(
          ([, value]) => typeof value === 'string',
        ) as [string, string][],
      ),
      ...(created !== undefined && !Number.isNaN(Date.parse(created))
        ? { created: new Date(created).toISOString() }
        : {}),
    });
  }
  for (const name of await names(root)) {
    // `.env.d` is setup_secrets.py's folder of per-service files (read apart); backups such as
    // `.env.development.backup.20251001_120000` carry a dot and are not environments.
    const match = /^\.env\.([A-Za-z0-9_-]+)$/.exec(name);
    if (!match?.[1] || name === '.env.d' || found.has(match[1])) continue;
    let text: string | undefined;
    try {
      text = await read(name);
    } catch (error) {
      const entry = unreadable(name, error);
      if (!entry) throw error;
      report.push(entry);
      continue;
    }
    const values = parseDotenv(text ?? '');
    const secrets = Object.fromEntries(Object.entries(values).filter(([key]) => SECRET_NAME.test(key)));
    found.set(match[1], { file: name, values: secrets });
  }
  return found;
}

/** `.env.d/*.env`, each NAME=value with its line. */
async function readServiceEnvFiles(root: string, report: ReportEntry[]): Promise<ServiceEnvFile[]> {
  const read = reader(root);
  const files: ServiceEnvFile[] = [];
  for (const name of await names(join(root, '.env.d'))) {
    if (!name.endsWith('.env')) continue;
    const file = `.env.d/${name}`;
    let text: string | undefined;
    try {
      text = await read(file);
    } catch (error) {
      const entry = unreadable(file, error);
      if (!entry) throw error;
      report.push(entry);
      continue;
    }
    if (text === undefined) continue;
    const entries = text.split('\n').flatMap((line, index) => {
      const parsed = Object.entries(parseDotenv(line));
      return parsed.map(([entryName, value]) => ({ name: entryName, value, line: index + 1 }));
    });
    files.push({ file, entries });
  }
  return files;
}

async function readTemplates(root: string, report: ReportEntry[]): Promise<TemplateSource[]> {
  const read = reader(root);
  const sources: TemplateSource[] = [];
  for (const name of await names(join(root, 'env-templates'))) {
    if (!name.endsWith('.j2')) continue;
    try {
      const text = await read(`env-templates/${name}`);
      if (text !== undefined) sources.push({ name, text });
    } catch (error) {
      const entry = unreadable(`env-templates/${name}`, error);
      if (!entry) throw error;
      report.push(entry);
    }
  }
  return sources;
}

/**
 * The volumes the original project's compose made, by volume key: `<project>_<key>` when it exists,
 * else one labelled as that project's volume. Undefined when no engine answers.
 */
async function existingVolumes(
  env: NodeJS.ProcessEnv,
  project: string,
  wanted: readonly string[],
): Promise<Map<string, string> | undefined> {
  try {
    const { Volumes } = await dockerClient(env).listVolumes();
    const byKey = new Map<string, string>();
    for (const key of wanted) {
      const exact = (Volumes ?? []).find((volume) => volume.Name === `${project}_${key}`);
      const labelled = (Volumes ?? []).find(
        (volume) =>
          volume.Labels?.[COMPOSE_LABELS.project] === project &&
          volume.Labels?.[COMPOSE_LABELS.volume] === key,
      );
      const found = exact ?? labelled;
      if (found) byKey.set(key, found.Name);
    }
    return byKey;
  } catch {
    return undefined;
  }
}

function renderSchema(file: object, from: string): string {
  const doc = new Document(file, { aliasDuplicateObjects: false });
  doc.commentBefore = ` Imported by stackctl import from ${from.replace(/[\r\n]/g, ' ')}.\n Review the report it printed; docs/schema.md describes this format.`;
  return doc.toString({ lineWidth: 0 });
}

/** Reads, converts and validates; writes nothing. */
async function planImport(request: ImportRequest): Promise<{
  valid: boolean;
  files: PlannedFile[];
  keptSecrets: number;
  keptVolumes: Record<string, string>;
  report: ReportEntry[];
}> {
  const { from } = request;
  const read = reader(from);
  const report: ReportEntry[] = [];
  const schemaPath = (await exists(join(from, 'schemas/compose-schema.yaml')))
    ? 'schemas/compose-schema.yaml'
    : 'compose-schema.yaml';
  const schemaText = await read(schemaPath);
  if (schemaText === undefined)
    throw new StackctlError('E_USAGE', `${from} has no schemas/compose-schema.yaml of the original stack`, {
      hint: 'point --from at the folder of the original llm-multimodal-stack checkout',
    });
  const schema = yamlSource(schemaPath, schemaText);
  const environmentSchemaText = await read('configs/environment_schema.yaml').catch((error: unknown) => {
    const entry = unreadable('configs/environment_schema.yaml', error);
    if (!entry) throw error;
    report.push(entry);
    return undefined;
  });
  const environmentSchema =
    environmentSchemaText === undefined
      ? undefined
      : yamlSource('configs/environment_schema.yaml', environmentSchemaText);
  const secrets = await readSecrets(from, report);
  const serviceEnvFiles = await readServiceEnvFiles(from, report);
  const templateSources = await readTemplates(from, report);

  const conversion = convertOriginal(
    { schema, ...(environmentSchema ? { environmentSchema } : {}), secrets, serviceEnvFiles },
    request.now,
  );
  report.push(...conversion.report);

  const keptVolumes = await keepOriginalVolumes(request.env, conversion, schema.path, report);
  const mounted = await readMountedFiles(read, conversion.file, report);
  report.push(...pgvectorForInitScripts(conversion.file, mounted, schema.path));

  const schemaOut = renderSchema(conversion.file, from);
  const valid = await validateStackText(schemaOut, { fileName: 'schemas/compose-schema.yaml' });
  for (const issue of valid.issues.filter((item) => item.severity === 'error'))
    report.push({
      severity: 'error',
      file: 'schemas/compose-schema.yaml (imported)',
      line: issue.line,
      message: `${issue.path}: ${issue.message}`,
      action: issue.hint,
    });

  const files: PlannedFile[] = [{ path: 'schemas/compose-schema.yaml', content: schemaOut, mode: 0o644 }];
  for (const [env, store] of conversion.stores)
    files.push({
      path: `${SECRETS_DIR}/.env.${env}.json`,
      content: serializeSecretStore(store),
      mode: 0o600,
    });
  for (const [source, text] of mounted) files.push({ path: source, content: text, mode: 0o644 });
  // The originals, for reference; then their layout carried over (same sections and order).
  for (const template of templateSources)
    files.push({ path: `original/env-templates/${template.name}`, content: template.text, mode: 0o644 });
  const templates = convertTemplates(templateSources, new Set(Object.keys(conversion.file.variables)));
  for (const template of templates.files)
    files.push({ path: `env-templates/${template.name}`, content: template.content, mode: 0o644 });
  report.push(...templates.report);
  if (templates.files.length > 0)
    report.push({
      severity: 'info',
      file: 'env-templates/master.env.j2',
      line: 1,
      message:
        "the original templates' expressions (vault_* names, default() fallbacks) became stackctl's variable() calls",
      action:
        'the originals are kept in original/env-templates/; stackctl generate fills the converted ones from the schema and the secret store',
    });
  const keptSecrets = [...conversion.stores.values()].reduce(
    (sum, store) => sum + Object.keys(store.secrets).length,
    0,
  );
  return { valid: valid.valid, files, keptSecrets, keptVolumes, report };
}

/** The backup folder for files --force replaces: under .stackctl, 0700 (secret stores go in it). */
function backupFolder(now: Date): string {
  return join('.stackctl', 'import-replaced', now.toISOString().replace(/[:.]/g, '-'));
}

/**
 * Writes every planned file or none: files that existed are first copied aside (kept), each file
 * is written atomically, and a failure part-way puts back what was there before.
 */
async function writeAll(
  out: string,
  files: readonly PlannedFile[],
  now: Date,
): Promise<{ replaced: string[]; keptIn?: string }> {
  const replaced: string[] = [];
  for (const file of files) if (await exists(join(out, file.path))) replaced.push(file.path);
  const keptIn = replaced.length > 0 ? backupFolder(now) : undefined;
  const written: string[] = [];
  try {
    if (keptIn !== undefined)
      for (const path of replaced) {
        await ensureDirectory(join(out, keptIn, path, '..'), 0o700);
        await copyFile(join(out, path), join(out, keptIn, path));
      }
    for (const file of files) {
      await ensureDirectory(
        join(out, file.path, '..'),
        file.path.startsWith(`${SECRETS_DIR}/`) ? 0o700 : 0o755,
      );
      await writeFileAtomic(join(out, file.path), file.content, { mode: file.mode });
      written.push(file.path);
    }
  } catch (error) {
    for (const path of written) {
      if (keptIn !== undefined && replaced.includes(path))
        await copyFile(join(out, keptIn, path), join(out, path)).catch(() => undefined);
      else await rm(join(out, path), { force: true }).catch(() => undefined);
    }
    throw new StackctlError(
      'E_RUNTIME',
      `import stopped writing into ${out}: ${(error as Error).message}; what it had written was taken back`,
      { hint: 'free the space or fix the permissions, then import again', cause: error },
    );
  }
  return { replaced, ...(keptIn !== undefined ? { keptIn } : {}) };
}

/** A stackctl project already in `out` (or the source itself) is only replaced with --force. */
async function refuseToClobber(request: ImportRequest): Promise<void> {
  if (request.force || request.dryRun) return;
  const target = join(request.out, 'schemas', 'compose-schema.yaml');
  const sameFolder =
    (await realpath(request.out).catch(() => request.out)) ===
    (await realpath(request.from).catch(() => request.from));
  if (sameFolder)
    throw new StackctlError(
      'E_REFUSED',
      `--out is the original project itself (${request.from}); importing there would replace its schema`,
      { hint: 'import into another folder: stackctl import --from ORIGINAL --out NEW' },
    );
  if (await exists(target))
    throw new StackctlError('E_REFUSED', `${target} already exists; nothing was written`, {
      hint: 'import into another folder with --out, or pass --force to replace it (the files it replaces are kept under .stackctl/import-replaced/)',
    });
}

export async function importProject(request: ImportRequest): Promise<ImportOutcome> {
  await refuseToClobber(request);
  const planned = await planImport(request);
  const paths = planned.files.map((file) => file.path);
  const base = {
    valid: planned.valid,
    files: paths,
    keptSecrets: planned.keptSecrets,
    keptVolumes: planned.keptVolumes,
    report: planned.report,
  };
  if (!planned.valid || request.dryRun) return { ...base, files: planned.valid ? paths : [], replaced: [] };
  const { replaced, keptIn } = await writeAll(request.out, planned.files, request.now);
  return { ...base, replaced, ...(keptIn !== undefined ? { replacedKeptIn: keptIn } : {}) };
}

/**
 * Existing data: the imported environments that have secrets (so data) mount the volumes compose
 * made for the original, and keep its user names (their data was made with them). Returns the
 * volumes kept, by key.
 */
async function keepOriginalVolumes(
  env: NodeJS.ProcessEnv,
  conversion: Conversion,
  schemaPath: string,
  report: ReportEntry[],
): Promise<Record<string, string>> {
  const schema = { path: schemaPath };
  const prefix = conversion.file.project.name;
  const found = await existingVolumes(env, prefix, conversion.volumes);
  const kept: Record<string, string> = {};
  const absent: string[] = [];
  for (const volume of conversion.volumes) {
    const existing = found?.get(volume);
    // Without an engine to ask, the names compose would have given them are assumed.
    if (existing !== undefined || found === undefined) kept[volume] = existing ?? `${prefix}_${volume}`;
    else absent.push(volume);
  }
  if (found === undefined && conversion.stores.size > 0)
    report.push({
      severity: 'warning',
      file: schema.path,
      line: 1,
      message: 'no Docker engine answered, so the volumes holding the original data could not be looked for',
      action: `their names are assumed to be ${prefix}_<volume>; check them with docker volume ls before the first start`,
    });
  if (absent.length > 0 && conversion.stores.size > 0)
    report.push({
      severity: 'info',
      file: schema.path,
      line: 1,
      message: `no volume of the original project on this engine for ${absent.join(', ')}`,
      action:
        'stackctl creates new, empty ones; if the data is on another host, map them in environments.<env>.externalVolumes',
    });
  const envsWithData = [...conversion.stores.keys()].filter((env) => conversion.file.environments[env]);
  for (const env of envsWithData) {
    const definition = conversion.file.environments[env];
    if (!definition) continue;
    const used = new Set(
      definition.services.flatMap((service) =>
        (conversion.file.services[service]?.volumes ?? []).map((mount) => mount.split(':')[0] ?? ''),
      ),
    );
    const external = Object.fromEntries(Object.entries(kept).filter(([volume]) => used.has(volume)));
    if (Object.keys(external).length === 0) continue;
    definition.externalVolumes = external;
    // Its data was made with the original user names (a database role): they stay.
    const variables = { ...definition.variables };
    for (const [name, value] of conversion.originalUsers) variables[name] = value;
    definition.variables = variables;
  }
  if (envsWithData.length > 0 && Object.keys(kept).length > 0)
    report.push({
      severity: 'info',
      file: schema.path,
      line: 1,
      message: `${envsWithData.join(', ')} keep mounting the original volumes: ${Object.entries(kept)
        .map(
          ([volume, name]) =>
            `${volume} → ${name}${found === undefined ? ' (assumed: no engine answered)' : found.has(volume) ? '' : ' (assumed: not found on this engine)'}`,
        )
        .join(', ')}`,
      action:
        'stackctl never removes them (they carry no stackctl labels); move the data into stackctl volumes with backup and restore when you are ready',
    });

  return envsWithData.length > 0 ? kept : {};
}

/** Files of the project the services mount (sql/init.sql): copied as they are, when they are files. */
async function readMountedFiles(
  read: (path: string) => Promise<string | undefined>,
  file: StackFile,
  report: ReportEntry[],
): Promise<Map<string, string>> {
  const mounted = new Map<string, string>();
  for (const source of projectMountSources(file)) {
    try {
      const text = await read(source);
      if (text !== undefined) mounted.set(source, text);
    } catch (error) {
      const entry = unreadable(source, error);
      // A folder (a cache such as ./models) is created by preflight, not copied.
      if (entry && !(error instanceof NotAFileError && error.kind === 'a folder')) report.push(entry);
      else if (!entry) throw error;
    }
  }
  return mounted;
}

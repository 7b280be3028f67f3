import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { StackctlError } from '../../errors.js';
import { dockerClient } from '../../effects/docker.js';
import { ensureDirectory, exists, readRegularText, writeFileAtomic } from '../../effects/files.js';
import { SECRETS_DIR } from '../../generate/plan.js';
import { serializeSecretStore } from '../../generate/secrets.js';
import { parse as parseDotenv } from 'dotenv';
import {
  convertOriginal,
  SECRET_NAME,
  type OriginalProject,
  type ReportEntry,
  type SourceFile,
} from '../../import/convert.js';
import { convertTemplates, type TemplateSource } from '../../import/templates.js';
import { COMPOSE_LABELS } from '../../labels.js';
import { validateStackText } from '../../schema/validate.js';
import { printJson, printLine, type CommandContext } from '../context.js';

export interface ImportFlags {
  from: string;
  out?: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

/** A YAML file with a way back from a key path to its line, for the report. */
async function sourceFile(root: string, path: string): Promise<SourceFile | undefined> {
  const text = await readRegularText(join(root, path));
  if (text === undefined) return undefined;
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: false });
  if (doc.errors.length > 0)
    throw new StackctlError(
      'E_USAGE',
      `${path} is not YAML stackctl can read: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`,
      {
        hint: 'fix the file, then import again',
      },
    );
  return {
    path,
    data: doc.toJS({ maxAliasCount: 1000 }) as unknown,
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

/** Every environment's secrets in the original project: secrets/.env.<env>.json first, else .env.<env>. */
async function originalSecrets(root: string): Promise<OriginalProject['secrets']> {
  const found = new Map<string, { file: string; values: Record<string, string>; created?: string }>();
  for (const name of (await readdir(join(root, 'secrets')).catch(() => [] as string[])).sort()) {
    const match = /^\.env\.([A-Za-z0-9_-]+)\.json$/.exec(name);
    if (!match?.[1]) continue;
    const text = (await readRegularText(join(root, 'secrets', name))) ?? '';
    let values: Record<string, unknown>;
    try {
      values = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new StackctlError('E_USAGE', `secrets/${name} is not JSON`, {
        hint: 'restore it, then import again: its values must be kept',
      });
    }
    const metadata = await readRegularText(join(root, 'secrets', `.env.${match[1]}.metadata`));
    const created = /"(?:created|generated)(?:_at)?"\s*:\s*"([^"]+)"/.exec(metadata ?? '')?.[1];
    found.set(match[1], {
      file: `secrets/${name}`,
      values: Object.fromEntries(
        Object.entries(values).filter(([, value]) => typeof value === 'string') as [string, string][],
      ),
      ...(created !== undefined && !Number.isNaN(Date.parse(created))
        ? { created: new Date(created).toISOString() }
        : {}),
    });
  }
  for (const name of (await readdir(root).catch(() => [] as string[])).sort()) {
    const match = /^\.env\.([A-Za-z0-9_-]+)$/.exec(name);
    if (!match?.[1] || found.has(match[1])) continue;
    const values = parseDotenv((await readRegularText(join(root, name))) ?? '');
    const secrets = Object.fromEntries(Object.entries(values).filter(([key]) => SECRET_NAME.test(key)));
    found.set(match[1], { file: name, values: secrets });
  }
  return found;
}

/**
 * The volumes the original project's compose made, by volume key: `<project>_<key>` when it exists,
 * else one labelled as that project's volume. Undefined when no engine answers.
 */
async function existingVolumes(
  ctx: CommandContext,
  project: string,
  wanted: readonly string[],
): Promise<Map<string, string> | undefined> {
  try {
    const { Volumes } = await dockerClient(ctx.env).listVolumes();
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

export async function importAction(flags: ImportFlags, ctx: CommandContext): Promise<void> {
  const from = resolve(ctx.cwd, flags.from);
  const out = resolve(ctx.cwd, flags.out ?? '.');
  const schema =
    (await sourceFile(from, 'schemas/compose-schema.yaml')) ??
    (await sourceFile(from, 'compose-schema.yaml'));
  if (!schema)
    throw new StackctlError('E_USAGE', `${from} has no schemas/compose-schema.yaml of the original stack`, {
      hint: 'point --from at the folder of the original llm-multimodal-stack checkout',
    });
  const environmentSchema = await sourceFile(from, 'configs/environment_schema.yaml');
  const target = join(out, 'schemas', 'compose-schema.yaml');
  if ((await exists(target)) && flags.force !== true && flags.dryRun !== true) {
    const current = await readRegularText(target);
    if (current !== undefined && /^version: 1\b/m.test(current))
      throw new StackctlError(
        'E_REFUSED',
        `${relative(ctx.cwd, target) || target} is already a stackctl schema; nothing was written`,
        {
          hint: 'import into another folder with --out, or pass --force to replace it',
        },
      );
  }
  const conversion = convertOriginal(
    { schema, ...(environmentSchema ? { environmentSchema } : {}), secrets: await originalSecrets(from) },
    new Date(),
  );
  const report: ReportEntry[] = [...conversion.report];

  // Existing data: the imported environments mount the volumes compose made for the original.
  const prefix = conversion.file.project.name;
  const found = await existingVolumes(ctx, prefix, conversion.volumes);
  const kept: Record<string, string> = {};
  const absent: string[] = [];
  for (const volume of conversion.volumes) {
    const existing = found?.get(volume);
    // Without an engine to ask, the names compose would have given them are assumed.
    if (existing !== undefined || found === undefined) kept[volume] = existing ?? `${prefix}_${volume}`;
    else absent.push(volume);
  }
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
            `${volume} → ${name}${found?.has(volume) ? '' : ' (assumed: not found on this engine)'}`,
        )
        .join(', ')}`,
      action:
        'stackctl never removes them (they carry no stackctl labels); move the data into stackctl volumes with backup and restore when you are ready',
    });

  const schemaText = renderSchema(conversion.file, from);
  const valid = await validateStackText(schemaText, { fileName: 'schemas/compose-schema.yaml' });
  for (const issue of valid.issues.filter((item) => item.severity === 'error'))
    report.push({
      severity: 'error',
      file: 'schemas/compose-schema.yaml (imported)',
      line: issue.line,
      message: `${issue.path}: ${issue.message}`,
      action: issue.hint,
    });

  const written: string[] = [];
  const write = async (path: string, content: string, mode = 0o644): Promise<void> => {
    written.push(path);
    if (flags.dryRun === true) return;
    await ensureDirectory(join(out, path, '..'), path.startsWith(`${SECRETS_DIR}/`) ? 0o700 : 0o755);
    await writeFileAtomic(join(out, path), content, { mode });
  };
  if (valid.valid) {
    await write('schemas/compose-schema.yaml', schemaText);
    for (const [env, store] of conversion.stores)
      await write(`${SECRETS_DIR}/.env.${env}.json`, serializeSecretStore(store), 0o600);
    const sources: TemplateSource[] = [];
    for (const template of await readdir(join(from, 'env-templates')).catch(() => [] as string[])) {
      if (!template.endsWith('.j2') || (await stat(join(from, 'env-templates', template))).isDirectory())
        continue;
      const text = await readRegularText(join(from, 'env-templates', template));
      if (text === undefined) continue;
      sources.push({ name: template, text });
      // The originals, for reference.
      await write(`original/env-templates/${template}`, text);
    }
    // Their layout carried over: the same sections and order, each schema variable once.
    const templates = convertTemplates(sources, new Set(Object.keys(conversion.file.variables)));
    for (const template of templates.files) await write(`env-templates/${template.name}`, template.content);
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
  }
  const secretCount = [...conversion.stores.values()].reduce(
    (sum, store) => sum + Object.keys(store.secrets).length,
    0,
  );
  if (flags.json === true) {
    printJson(ctx.stdout, {
      written: flags.dryRun === true ? [] : written,
      ...(flags.dryRun === true ? { wouldWrite: written } : {}),
      kept: { secrets: secretCount, volumes: envsWithData.length > 0 ? Object.values(kept) : [] },
      report,
    });
  } else {
    for (const entry of report) {
      const mark =
        entry.severity === 'error'
          ? ctx.colors.red('✖')
          : entry.severity === 'warning'
            ? ctx.colors.yellow('⚠')
            : ctx.colors.dim('·');
      printLine(ctx.stderr, `${mark} ${entry.file}:${entry.line} ${entry.message}\n    → ${entry.action}`);
    }
    if (valid.valid)
      printLine(
        ctx.stdout,
        ctx.colors.green(
          `✔ ${flags.dryRun === true ? 'would write' : 'wrote'} ${written.length} files to ${out}: ${secretCount} secret values kept as they were, ${envsWithData.length > 0 ? Object.keys(kept).length : 0} volumes kept`,
        ),
      );
  }
  if (!valid.valid)
    throw new StackctlError('E_SCHEMA', 'the imported schema is not valid, so nothing was written', {
      hint: 'the report above says what; report it, with the original files, if it is stackctl that got it wrong',
    });
}

function renderSchema(file: object, from: string): string {
  const doc = new Document(file, { aliasDuplicateObjects: false });
  doc.commentBefore = ` Imported by stackctl import from ${from.replace(/[\r\n]/g, ' ')}.\n Review the report it printed; docs/schema.md describes this format.`;
  return doc.toString({ lineWidth: 0 });
}

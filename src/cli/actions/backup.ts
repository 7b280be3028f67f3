import { relative } from 'node:path';
import { StackctlError, EXIT, ReportedFailure } from '../../errors.js';
import {
  configFilesOf,
  createBackup,
  findBackup,
  openTiers,
  restoreArtifacts,
  verifyBackup,
  type ConfigSecretsOutcome,
} from '../../lifecycle/backup.js';
import { manifestBytes, manifestServices, type BackupManifest } from '../../effects/backup/manifest.js';
import type { TierStore } from '../../effects/backup/tiers.js';
import { projectContainers } from '../../effects/containers.js';
import { dockerClient } from '../../effects/docker.js';
import { acquireLock } from '../../effects/lock.js';
import { readSecretStore } from '../../effects/secret-store.js';
import { schemaHash } from '../../generate/header.js';
import type { SecretStore } from '../../generate/secrets.js';
import { resolveEnvironment, type EnvironmentModel } from '../../model/environment.js';
import {
  ARTIFACT_TYPES,
  CONFIG_SERVICE,
  chooseTier,
  keepDays,
  planBackup,
  servicesWithData,
  type ArtifactType,
  type BackupStep,
} from '../../plan/backup.js';
import { dependencyNames } from '../../schema/values.js';
import type { BackupDef, StackFile } from '../../schema/types.js';
import { formatBytes } from '../../ui/bytes.js';
import { table } from '../../ui/table.js';
import { confirm } from '../../ui/confirm.js';
import { startProgress } from '../../ui/progress.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment, type LoadedStack } from '../load-stack.js';

export interface BackupFlags {
  service: string[];
  allowStop?: boolean;
  includeModels?: boolean;
  type?: string;
  tier?: string;
  json?: boolean;
  schema?: string;
}

export function requireBackup(file: StackFile): BackupDef {
  if (!file.backup)
    throw new StackctlError('E_USAGE', 'the schema declares no backup tiers', {
      hint: 'add a backup section (tiers, defaultTier, retention): see docs/schema.md',
    });
  return file.backup;
}

/** The stores of every environment that has one: S3 tiers take their credentials from them. */
async function allStores(stack: LoadedStack, first?: string): Promise<(SecretStore | undefined)[]> {
  const names = [
    ...new Set([...(first === undefined ? [] : [first]), ...Object.keys(stack.file.environments)]),
  ];
  return Promise.all(names.map((name) => readSecretStore(stack.root, name)));
}

/** The tiers of the schema; one that cannot be opened (no keys yet) is skipped with a warning. */
export async function tiersOf(
  stack: LoadedStack,
  stores: readonly (SecretStore | undefined)[],
  ctx: CommandContext,
  only?: string,
): Promise<TierStore[]> {
  return openTiers(requireBackup(stack.file), stack.root, stores, {
    ...(only === undefined ? {} : { only }),
    onSkipped: (tier, reason) =>
      printLine(ctx.stderr, ctx.colors.yellow(`⚠ backup tier ${tier} skipped: ${reason.message}`)),
  });
}

export async function backupAction(envName: string, flags: BackupFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const backup = requireBackup(stack.file);
  if (flags.type !== undefined && !ARTIFACT_TYPES.includes(flags.type as ArtifactType))
    throw new StackctlError('E_USAGE', `unknown backup type "${flags.type}"`, {
      hint: `types: ${ARTIFACT_TYPES.join(', ')}`,
    });
  const model = resolveEnvironment(stack.file, envName);
  const docker = dockerClient(ctx.env);
  // By default, every service with data that has a container; one that has none is said, not fatal.
  let services = flags.service;
  if (services.length === 0) {
    services = [CONFIG_SERVICE];
    for (const service of servicesWithData(stack.file, model, {
      includeModels: flags.includeModels === true,
    })) {
      if ((await projectContainers(docker, model.project, service.name)).length > 0)
        services.push(service.name);
      else if (flags.json !== true)
        printLine(
          ctx.stderr,
          ctx.colors.yellow(`⚠ ${service.name}: no container in ${envName}, not backed up`),
        );
    }
  }
  const steps = planBackup(stack.file, model, {
    services,
    explicit: flags.service.length > 0,
    type: flags.type as ArtifactType | undefined,
    includeModels: flags.includeModels === true,
  });
  const tierName = chooseTier(backup, envName, flags.tier);
  // A volume copy stops its service: said before anything happens, and confirmed.
  const stopping: string[] = [];
  for (const step of steps)
    if (
      step.method === 'volume' &&
      !stopping.includes(step.service) &&
      (await projectContainers(docker, model.project, step.service)).some((c) => c.status === 'running')
    )
      stopping.push(step.service);
  if (stopping.length > 0 && flags.allowStop !== true) {
    if (flags.json !== true)
      printLine(
        ctx.stderr,
        `${stopping.join(', ')} ${stopping.length === 1 ? 'is' : 'are'} stopped while ${stopping.length === 1 ? 'its volume is' : 'their volumes are'} copied, then started again`,
      );
    await confirm(ctx, `Stop ${stopping.join(', ')} for the copy?`, false).catch((error: unknown) => {
      if (error instanceof StackctlError && error.code === 'E_REFUSED' && !ctx.interactive)
        throw new StackctlError(
          'E_REFUSED',
          `backup of ${envName} would stop ${stopping.join(', ')} to copy ${stopping.length === 1 ? 'its volume' : 'their volumes'}; nothing was done`,
          {
            hint: 'pass --allow-stop (a schedule: allowStop: true in the environment’s retention policy), or back up the other services with --service',
          },
        );
      throw error;
    });
  }
  const store = await readSecretStore(stack.root, envName);
  const lock = await acquireLock(stack.root, envName, 'backup');
  const progress = flags.json === true ? undefined : startProgress(ctx, `Backing up ${envName}`);
  try {
    const [tier] = await tiersOf(stack, [store, ...(await allStores(stack))], ctx, tierName);
    if (!tier) throw new Error(`tier ${tierName} did not open`);
    const started = Date.now();
    const stepStarted = new Map<BackupStep, number>();
    const manifest = await createBackupOrSay(
      {
        file: stack.file,
        model,
        schemaHash: schemaHash(stack.schemaText),
        steps,
        tier,
        store,
        configFiles: await configFilesOf(stack.root, relative(stack.root, stack.schemaPath), envName),
        now: new Date(),
        onProgress: (step, bytes) => {
          const since = stepStarted.get(step) ?? Date.now();
          stepStarted.set(step, since);
          const seconds = Math.max((Date.now() - since) / 1000, 0.001);
          progress?.update(
            `Backing up ${step.service} (${step.type}): ${formatBytes(bytes)}, ${formatBytes(bytes / seconds)}/s`,
          );
        },
        onStep: (step, artifact) =>
          progress?.log(`  ✔ ${step.service} ${step.type}: ${formatBytes(artifact.bytes)}`),
      },
      { root: stack.root, docker, env: ctx.env, signal: ctx.signal },
    );
    progress?.stop();
    if (flags.json === true) {
      printJson(ctx.stdout, backupJson(tier, manifest));
      return;
    }
    printLine(
      ctx.stdout,
      ctx.colors.green(
        `✔ backup ${manifest.id} of ${envName} in ${tier.name}: ${manifest.artifacts.length} artifacts, ${formatBytes(manifestBytes(manifest))} in ${((Date.now() - started) / 1000).toFixed(1)}s`,
      ),
    );
    for (const artifact of manifest.artifacts)
      printLine(
        ctx.stdout,
        `  ${artifact.service} ${artifact.type}  ${formatBytes(artifact.bytes)}  ${tier.location(manifest, artifact.file)}`,
      );
  } finally {
    progress?.stop();
    await lock.release();
  }
}

/** A backup cut short by Ctrl-C says so (nothing of it is kept), instead of naming the killed command. */
async function createBackupOrSay(...args: Parameters<typeof createBackup>): Promise<BackupManifest> {
  const [input, backupCtx] = args;
  // What was stopped for a volume copy and is not running again, told as it is.
  const down = new Set<string>();
  const stopped = new Set<string>();
  try {
    return await createBackup(
      {
        ...input,
        onServiceStopping: (service) => {
          stopped.add(service);
          down.add(service);
        },
        onServiceStarted: (service) => down.delete(service),
      },
      backupCtx,
    );
  } catch (error) {
    const services =
      down.size > 0
        ? `left stopped: ${[...down].join(', ')} (start them: stackctl start ${input.model.name})`
        : stopped.size > 0
          ? `${[...stopped].join(', ')}, stopped for a volume copy, run again`
          : 'no service was stopped';
    if (backupCtx.signal?.aborted === true)
      throw new StackctlError(
        'E_INTERRUPTED',
        `interrupted: no backup of ${input.model.name} was made; what was written is removed`,
        { hint: services },
      );
    if (down.size > 0 && error instanceof StackctlError)
      throw new StackctlError(error.code, `${error.message}; ${services}`, {
        ...(error.hint !== undefined ? { hint: error.hint } : {}),
      });
    throw error;
  }
}

function backupJson(tier: TierStore, manifest: BackupManifest) {
  return {
    id: manifest.id,
    environment: manifest.environment,
    tier: tier.name,
    created: manifest.created,
    artifacts: manifest.artifacts.map((artifact) => ({
      service: artifact.service,
      type: artifact.type,
      path: tier.location(manifest, artifact.file),
      bytes: artifact.bytes,
      sha256: artifact.sha256,
    })),
  };
}

async function everyBackup(
  stack: LoadedStack,
  envName: string | undefined,
  ctx: CommandContext,
): Promise<{ tier: TierStore; manifest: BackupManifest }[]> {
  const out: { tier: TierStore; manifest: BackupManifest }[] = [];
  for (const tier of await tiersOf(stack, await allStores(stack, envName), ctx))
    for (const manifest of await tier.list(envName)) out.push({ tier, manifest });
  return out.sort((a, b) => (a.manifest.id < b.manifest.id ? -1 : 1));
}

export async function backupListAction(
  envName: string | undefined,
  flags: { json?: boolean; schema?: string },
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const backups = await everyBackup(stack, envName, ctx);
  const rows = backups.map(({ tier, manifest }) => ({
    id: manifest.id,
    environment: manifest.environment,
    created: manifest.created,
    tier: tier.name,
    services: manifestServices(manifest),
    bytes: manifestBytes(manifest),
  }));
  if (flags.json === true) {
    printJson(ctx.stdout, { backups: rows });
    return;
  }
  if (rows.length === 0) {
    printLine(ctx.stdout, `no backups${envName === undefined ? '' : ` of ${envName}`}`);
    return;
  }
  const lines = table(
    [
      ['ID', 'ENVIRONMENT', 'CREATED', 'TIER', 'SIZE', 'SERVICES'],
      ...rows.map((row) => [
        row.id,
        row.environment,
        row.created.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'),
        row.tier,
        formatBytes(row.bytes),
        row.services.join(', '),
      ]),
    ],
    ctx.colors.bold,
  );
  for (const line of lines) printLine(ctx.stdout, line);
}

export async function backupStatusAction(
  envName: string | undefined,
  flags: { json?: boolean; schema?: string; now?: string },
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  const backup = requireBackup(stack.file);
  const environments =
    envName === undefined
      ? Object.keys(stack.file.environments)
      : [requireEnvironment(stack.file, envName) && envName];
  const now = parseNow(flags.now);
  const backups = await everyBackup(stack, envName, ctx);
  const rows: {
    environment: string;
    service: string;
    tier: string;
    last: string | null;
    ageDays: number | null;
    keepDays: number;
    status: string;
  }[] = [];
  for (const env of environments) {
    const policy = backup.retention?.[env];
    const model = resolveEnvironment(stack.file, env);
    const services = [...servicesWithData(stack.file, model).map((service) => service.name), 'config'];
    for (const service of services) {
      for (const tier of Object.keys(backup.tiers)) {
        const last = backups
          .filter(
            (entry) =>
              entry.tier.name === tier &&
              entry.manifest.environment === env &&
              manifestServices(entry.manifest).includes(service),
          )
          .at(-1)?.manifest;
        const ageDays = last ? (now.getTime() - Date.parse(last.created)) / 86_400_000 : null;
        const keep = policy ? keepDays(policy, service) : 0;
        if (!last && tier !== (policy?.tier ?? backup.defaultTier)) continue;
        const status = !last ? 'never' : policy && ageDays !== null && ageDays > keep ? 'overdue' : 'ok';
        rows.push({
          environment: env,
          service,
          tier,
          last: last?.id ?? null,
          ageDays: ageDays === null ? null : Math.round(ageDays * 10) / 10,
          keepDays: keep,
          status,
        });
      }
    }
  }
  if (flags.json === true) {
    printJson(ctx.stdout, { services: rows });
    return;
  }
  for (const row of rows) {
    const age = row.ageDays === null ? 'no backup' : `${row.ageDays} days old`;
    const mark = row.status === 'ok' ? ctx.colors.green('✔') : ctx.colors.yellow('⚠');
    printLine(
      ctx.stdout,
      `${mark} ${row.environment} ${row.service} (${row.tier}): ${age}${row.keepDays ? `, kept ${row.keepDays} days` : ''}${row.last ? `  ${row.last}` : ''}`,
    );
  }
}

export function parseNow(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const parsed = new Date(text);
  if (Number.isNaN(parsed.getTime()))
    throw new StackctlError('E_USAGE', `--now ${text} is not a time`, {
      hint: 'an ISO date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z',
    });
  return parsed;
}

export async function backupVerifyAction(
  id: string,
  flags: { json?: boolean; schema?: string },
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  const { tier, manifest } = await findBackup(await tiersOf(stack, await allStores(stack), ctx), id);
  const progress = flags.json === true ? undefined : startProgress(ctx, `Verifying ${manifest.id}`);
  const problems = await verifyBackup(tier, manifest).finally(() => progress?.stop());
  if (flags.json === true)
    printJson(ctx.stdout, {
      id,
      ok: problems.length === 0,
      artifacts: manifest.artifacts.map((artifact) => ({
        service: artifact.service,
        type: artifact.type,
        path: tier.location(manifest, artifact.file),
        ok: !problems.some((problem) => problem.artifact === artifact),
        problem: problems.find((problem) => problem.artifact === artifact)?.problem ?? null,
      })),
    });
  else if (problems.length === 0)
    printLine(
      ctx.stdout,
      ctx.colors.green(`✔ ${id}: ${manifest.artifacts.length} artifacts match their sha256`),
    );
  else
    for (const problem of problems)
      printLine(
        ctx.stderr,
        ctx.colors.red(`✖ ${id}: ${tier.location(manifest, problem.artifact.file)}: ${problem.problem}`),
      );
  if (problems.length > 0) throw new ReportedFailure(EXIT.runtime);
}

export interface RestoreFlags {
  from: string;
  service: string[];
  dryRun?: boolean;
  secretsFromBackup?: boolean;
  yes?: boolean;
  json?: boolean;
  schema?: string;
}

/** Every service that depends on one of these, directly or not (they are stopped during a restore). */
export function dependentsOf(model: EnvironmentModel, services: readonly string[]): string[] {
  const found = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const service of model.services) {
      if (found.has(service.name) || services.includes(service.name)) continue;
      const deps = dependencyNames(service.definition);
      if (deps.some((dep) => services.includes(dep) || found.has(dep))) {
        found.add(service.name);
        grew = true;
      }
    }
  }
  return model.services.map((service) => service.name).filter((name) => found.has(name));
}

export async function restoreAction(
  envName: string,
  flags: RestoreFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const store = await readSecretStore(stack.root, envName);
  const { tier, manifest } = await findBackup(
    await tiersOf(stack, [store, ...(await allStores(stack))], ctx),
    flags.from,
    envName,
  );
  if (manifest.environment !== envName)
    throw new StackctlError(
      'E_USAGE',
      `backup ${manifest.id} is of ${manifest.environment}, not ${envName}`,
      {
        hint: `restore it into ${manifest.environment}, or pick a backup of ${envName} (stackctl backup list ${envName})`,
      },
    );
  const inSet = manifestServices(manifest);
  for (const service of flags.service)
    if (!inSet.includes(service))
      throw new StackctlError('E_USAGE', `backup ${manifest.id} holds no ${service}`, {
        hint: `it holds: ${inSet.join(', ')}`,
      });
  // The config (schema, env files, secrets) comes back only when asked for by name.
  const chosen = flags.service.length > 0 ? flags.service : inSet.filter((service) => service !== 'config');
  const artifacts = manifest.artifacts.filter((artifact) => chosen.includes(artifact.service));
  const model = resolveEnvironment(stack.file, envName);
  const dataServices = chosen.filter((service) => service !== 'config');
  const docker = dockerClient(ctx.env);
  // Only the dependents that run are stopped, and started again after.
  const running = new Map<string, string[]>();
  for (const service of dependentsOf(model, dataServices)) {
    const ids = (await projectContainers(docker, model.project, service))
      .filter((container) => container.status === 'running')
      .map((container) => container.id);
    if (ids.length > 0) running.set(service, ids);
  }
  const dependents = [...running.keys()];
  const preview = {
    id: manifest.id,
    environment: envName,
    tier: tier.name,
    restore: artifacts.map((artifact) => ({
      service: artifact.service,
      type: artifact.type,
      bytes: artifact.bytes,
    })),
    stopped: dependents,
  };

  const lock = flags.dryRun === true ? undefined : await acquireLock(stack.root, envName, 'restore');
  try {
    // Verified first: a damaged set touches nothing.
    const problems = await verifyBackup(tier, manifest, chosen);
    if (problems.length > 0) {
      for (const problem of problems)
        printLine(
          ctx.stderr,
          ctx.colors.red(`✖ ${tier.location(manifest, problem.artifact.file)}: ${problem.problem}`),
        );
      throw new StackctlError(
        'E_RUNTIME',
        `backup ${manifest.id} failed verification: nothing was restored`,
        {
          hint: 'restore another backup (stackctl backup list)',
        },
      );
    }
    if (flags.json !== true || flags.dryRun === true) {
      if (flags.json === true) {
        printJson(ctx.stdout, { ...preview, dryRun: true });
        return;
      }
      printLine(ctx.stdout, `Restore ${manifest.id} (${manifest.created}) into ${envName}:`);
      for (const artifact of artifacts)
        printLine(
          ctx.stdout,
          `  ${artifact.service} ${artifact.type}  ${formatBytes(artifact.bytes)}  (replaces what ${artifact.service} holds now)`,
        );
      if (dependents.length > 0)
        printLine(ctx.stdout, `  stopped meanwhile, then started again: ${dependents.join(', ')}`);
      if (flags.dryRun === true) {
        printLine(ctx.stdout, 'dry run: nothing changed');
        return;
      }
    }
    await confirm(
      ctx,
      `Replace the data of ${dataServices.join(', ') || 'the config'} in ${envName}?`,
      flags.yes === true,
    );

    const stoppedIds = [...running.values()].flat();
    const { stopContainers } = await import('../../effects/backup/services.js');
    const progress = flags.json === true ? undefined : startProgress(ctx, `Restoring ${envName}`);
    const restored: string[] = [];
    let configSecrets: ConfigSecretsOutcome | undefined;
    try {
      await stopContainers(stoppedIds, { env: ctx.env, signal: ctx.signal });
      await restoreArtifacts(
        {
          model,
          file: stack.file,
          tier,
          manifest,
          artifacts,
          store,
          takeBackupSecrets: flags.secretsFromBackup === true,
          onConfigSecrets: (outcome) => {
            configSecrets = outcome;
            if (outcome.replaced !== undefined && outcome.replaced.length > 0)
              progress?.log(
                `  · took the backup's ${outcome.replaced.join(', ')}; the live values they replaced are in ${outcome.savedTo ?? ''} (a database keeps its own password: start checks it)`,
              );
            if (outcome.kept.length > 0)
              progress?.log(
                `  · kept the live ${outcome.kept.join(', ')} (changed since the backup; running services and their data use them); the backup's values are in ${outcome.savedTo ?? ''}`,
              );
          },
          onStep: (artifact) => {
            restored.push(`${artifact.service} ${artifact.type}`);
            progress?.log(`  ✔ ${artifact.service} ${artifact.type} restored`);
          },
        },
        { root: stack.root, docker, env: ctx.env, signal: ctx.signal },
      );
    } catch (error) {
      // What depends on the data stays stopped: it must not run on data only partly restored.
      const left = artifacts.map((a) => `${a.service} ${a.type}`).filter((name) => !restored.includes(name));
      const state = `restored: ${restored.join(', ') || 'nothing'}; not restored: ${left.join(', ')}${dependents.length > 0 ? `; left stopped: ${dependents.join(', ')}` : ''}`;
      const detail = error instanceof StackctlError ? `: ${error.message}` : '';
      if (ctx.signal.aborted)
        throw new StackctlError(
          'E_INTERRUPTED',
          `interrupted: restore of ${manifest.id} stopped (${state})${detail}`,
          {
            hint: `run the restore again, or start what is stopped: stackctl start ${envName}`,
          },
        );
      if (error instanceof StackctlError)
        throw new StackctlError('E_RUNTIME', `${error.message} (${state})`, {
          hint: error.hint ?? `fix the cause, then run the restore again`,
        });
      throw error;
    } finally {
      progress?.stop();
    }
    // Started again and waited for, as start does.
    if (dataServices.length > 0) {
      const { startAction } = await import('./start.js');
      await startAction(
        envName,
        {
          stack: [],
          service: [...dataServices, ...dependents],
          timeout: '10m',
          wait: true,
          settle: '0s',
          ...(flags.schema === undefined ? {} : { schema: flags.schema }),
        },
        quietContext(ctx, flags.json === true),
        { lockHeld: true, withoutPreflight: true },
      );
    }
    if (flags.json === true)
      printJson(ctx.stdout, {
        ...preview,
        restored: true,
        ...(configSecrets && configSecrets.kept.length > 0
          ? { secretsKept: configSecrets.kept, backupSecretsSavedTo: configSecrets.savedTo }
          : {}),
        ...(configSecrets?.replaced && configSecrets.replaced.length > 0
          ? { secretsReplaced: configSecrets.replaced, liveSecretsSavedTo: configSecrets.savedTo }
          : {}),
      });
    else
      printLine(
        ctx.stdout,
        ctx.colors.green(
          `✔ ${envName}: restored ${manifest.id}; ${[...dataServices, ...dependents].join(', ')} healthy`,
        ),
      );
  } finally {
    await lock?.release();
  }
}

/** With --json, start's own output would break the one JSON document: it goes to stderr. */
function quietContext(ctx: CommandContext, json: boolean): CommandContext {
  return json ? { ...ctx, stdout: ctx.stderr } : ctx;
}

// Installs and removes scheduled backups: the plan's crontab block or systemd units, written where
// this host runs them. Only stackctl's own units and crontab block are ever touched.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirectory, readRegularText, writeFileAtomic } from '../effects/files.js';
import { realpathSync } from 'node:fs';
import {
  detectScheduler,
  readCrontab,
  systemctl,
  unitFolder,
  writeCrontab,
  type Scheduler,
} from '../effects/scheduler.js';
import { requireEnvironment, type LoadedStack } from '../model/stack.js';
import { requireBackup } from './backup-sets.js';
import {
  crontabMarkers,
  hasCrontabEntry,
  legacyScheduleUnit,
  scheduledJobs,
  shellWord,
  systemdUnits,
  withCrontabEntry,
  type ScheduledJob,
} from '../plan/schedule.js';

/** How a scheduled run starts this stackctl: the single binary itself, or node and the script. */
async function stackctlCommandLine(): Promise<string[]> {
  try {
    const sea = (await import('node:sea')) as { isSea?: () => boolean };
    if (sea.isSea?.() === true) return [process.execPath];
  } catch {
    // node:sea is missing before Node 20.12: not a single binary.
  }
  const script = process.argv[1];
  return script === undefined ? [process.execPath] : [process.execPath, realpathSync(script)];
}

/** The scheduled backup jobs of one environment, or of every one. */
export async function jobsOf(stack: LoadedStack, envName: string | undefined) {
  requireBackup(stack.file);
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const environments = envName === undefined ? Object.keys(stack.file.environments) : [envName];
  return scheduledJobs(stack.file, environments, await stackctlCommandLine(), stack.schemaPath);
}

/** The scheduler to use: cron when asked for, else the one this host runs (cron when none is found, with orCron). */
export async function chooseScheduler(
  cron: boolean,
  env: NodeJS.ProcessEnv,
  options: { orCron?: boolean } = {},
): Promise<Scheduler> {
  if (cron) return 'cron';
  const detected = detectScheduler(env);
  return options.orCron === true ? detected.catch((): Scheduler => 'cron') : detected;
}

export { unitFolder };

/** Writes and enables the jobs; returns what was written where. */
export async function installSchedule(
  scheduler: Scheduler,
  project: string,
  jobs: readonly ScheduledJob[],
  root: string,
  schemaPath: string,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  if (scheduler === 'cron') {
    let crontab = await readCrontab(env);
    for (const job of jobs)
      crontab = withCrontabEntry(crontab, project, job.environment, job, root, schemaPath);
    await writeCrontab(crontab, env);
    return jobs.map((job) => `crontab: ${crontabMarkers(project, job.environment, schemaPath).begin}`);
  }
  // An earlier version's unit of this checkout (no checkout tag) gives way to the new one.
  await removeLegacyUnits(project, jobs, root, env);
  const folder = unitFolder(env);
  await ensureDirectory(folder, 0o755);
  const written: string[] = [];
  for (const job of jobs) {
    const units = systemdUnits(job, root);
    await writeFileAtomic(join(folder, `${job.unit}.service`), units.service);
    await writeFileAtomic(join(folder, `${job.unit}.timer`), units.timer);
    written.push(join(folder, `${job.unit}.timer`));
  }
  await systemctl(['daemon-reload'], env);
  for (const job of jobs) await systemctl(['enable', '--now', `${job.unit}.timer`], env);
  return written;
}

/** Disables and removes the jobs' units, or stackctl's crontab block; nothing else. */
export async function removeSchedule(
  scheduler: Scheduler,
  project: string,
  jobs: readonly Pick<ScheduledJob, 'environment' | 'unit'>[],
  root: string,
  schemaPath: string,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  if (scheduler === 'cron') {
    let crontab = await readCrontab(env);
    const removed: string[] = [];
    for (const job of jobs) {
      if (!hasCrontabEntry(crontab, project, job.environment, schemaPath, root)) continue;
      crontab = withCrontabEntry(crontab, project, job.environment, undefined, root, schemaPath);
      removed.push(`crontab: ${crontabMarkers(project, job.environment, schemaPath).begin}`);
    }
    if (removed.length > 0) await writeCrontab(crontab, env);
    return removed;
  }
  const folder = unitFolder(env);
  const removed: string[] = await removeLegacyUnits(project, jobs, root, env);
  for (const job of jobs) {
    const timer = join(folder, `${job.unit}.timer`);
    if ((await readRegularText(timer)) === undefined) continue;
    await systemctl(['disable', '--now', `${job.unit}.timer`], env).catch(() => undefined);
    await rm(timer, { force: true });
    await rm(join(folder, `${job.unit}.service`), { force: true });
    removed.push(timer);
  }
  if (removed.length > 0) await systemctl(['daemon-reload'], env);
  return removed;
}

/** Units of earlier versions (no checkout tag), removed only when they run in this checkout. */
async function removeLegacyUnits(
  project: string,
  jobs: readonly Pick<ScheduledJob, 'environment'>[],
  root: string,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  const folder = unitFolder(env);
  const removed: string[] = [];
  for (const job of jobs) {
    const unit = legacyScheduleUnit(project, job.environment);
    const service = await readRegularText(join(folder, `${unit}.service`)).catch(() => undefined);
    if (service === undefined || !service.split('\n').includes(`WorkingDirectory=${shellWord(root)}`))
      continue;
    await systemctl(['disable', '--now', `${unit}.timer`], env).catch(() => undefined);
    await rm(join(folder, `${unit}.timer`), { force: true });
    await rm(join(folder, `${unit}.service`), { force: true });
    removed.push(join(folder, `${unit}.timer`));
  }
  return removed;
}

/**
 * Which of the jobs are installed on this host, and how: stackctl's crontab block or its systemd
 * timer. A crontab that cannot be read (no cron here) counts as none.
 */
export async function installedSchedules(
  project: string,
  jobs: readonly Pick<ScheduledJob, 'environment' | 'unit'>[],
  root: string,
  schemaPath: string,
  env: NodeJS.ProcessEnv,
): Promise<Map<string, 'cron' | 'systemd'>> {
  const crontab = await readCrontab(env).catch(() => '');
  const folder = unitFolder(env);
  const out = new Map<string, 'cron' | 'systemd'>();
  for (const job of jobs) {
    if (hasCrontabEntry(crontab, project, job.environment, schemaPath, root))
      out.set(job.environment, 'cron');
    else if ((await readRegularText(join(folder, `${job.unit}.timer`)).catch(() => undefined)) !== undefined)
      out.set(job.environment, 'systemd');
  }
  return out;
}

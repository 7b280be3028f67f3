// Installs and removes scheduled backups: the plan's crontab block or systemd units, written where
// this host runs them. Only stackctl's own units and crontab block are ever touched.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirectory, readRegularText, writeFileAtomic } from '../effects/files.js';
import { readCrontab, systemctl, unitFolder, writeCrontab, type Scheduler } from '../effects/scheduler.js';
import { crontabMarkers, systemdUnits, withCrontabEntry, type ScheduledJob } from '../plan/schedule.js';

/** Writes and enables the jobs; returns what was written where. */
export async function installSchedule(
  scheduler: Scheduler,
  project: string,
  jobs: readonly ScheduledJob[],
  root: string,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  if (scheduler === 'cron') {
    let crontab = await readCrontab(env);
    for (const job of jobs) crontab = withCrontabEntry(crontab, project, job.environment, job, root);
    await writeCrontab(crontab, env);
    return jobs.map((job) => `crontab: ${crontabMarkers(project, job.environment).begin}`);
  }
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
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  if (scheduler === 'cron') {
    let crontab = await readCrontab(env);
    const removed: string[] = [];
    for (const job of jobs) {
      const marker = crontabMarkers(project, job.environment).begin;
      if (!crontab.split('\n').includes(marker)) continue;
      crontab = withCrontabEntry(crontab, project, job.environment, undefined, root);
      removed.push(`crontab: ${marker}`);
    }
    if (removed.length > 0) await writeCrontab(crontab, env);
    return removed;
  }
  const folder = unitFolder(env);
  const removed: string[] = [];
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

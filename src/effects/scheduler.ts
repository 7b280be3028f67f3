// Installs scheduled backups where this host runs them: the user's systemd timers, or the user's
// crontab where systemd is absent. Only stackctl's own units and crontab block are ever touched.
import { execa } from 'execa';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { StackctlError } from '../errors.js';
import { crontabMarkers, systemdUnits, withCrontabEntry, type ScheduledJob } from '../plan/schedule.js';
import { ensureDirectory, readRegularText, writeFileAtomic } from './files.js';

export type Scheduler = 'systemd' | 'cron';

/** systemd when a user manager answers, else cron when crontab exists. */
export async function detectScheduler(env: NodeJS.ProcessEnv): Promise<Scheduler> {
  const systemd = await execa('systemctl', ['--user', 'show-environment'], { env, reject: false });
  if (systemd.exitCode === 0) return 'systemd';
  const cron = await execa('crontab', ['-l'], { env, reject: false });
  if (cron.exitCode !== undefined && !/ENOENT|not found/.test(String(cron.stderr) + String(cron.message)))
    return 'cron';
  throw new StackctlError(
    'E_RUNTIME',
    'this host has neither a systemd user manager nor crontab to run scheduled backups',
    {
      hint: 'install cron (apt-get install cron), or run stackctl backup ENV from your own scheduler',
    },
  );
}

export function unitFolder(env: NodeJS.ProcessEnv): string {
  return join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'systemd', 'user');
}

async function systemctl(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const result = await execa('systemctl', ['--user', ...args], { env, reject: false });
  if (result.exitCode !== 0)
    throw new StackctlError(
      'E_RUNTIME',
      `systemctl --user ${args.join(' ')} failed: ${String(result.stderr).trim()}`,
    );
}

async function readCrontab(env: NodeJS.ProcessEnv): Promise<string> {
  const result = await execa('crontab', ['-l'], { env, reject: false });
  if (result.exitCode === 0) return String(result.stdout) + '\n';
  if (/no crontab/i.test(String(result.stderr))) return '';
  throw new StackctlError('E_RUNTIME', `crontab -l failed: ${String(result.stderr).trim()}`);
}

async function writeCrontab(content: string, env: NodeJS.ProcessEnv): Promise<void> {
  const result = await execa('crontab', ['-'], { env, input: content, reject: false });
  if (result.exitCode !== 0)
    throw new StackctlError('E_RUNTIME', `crontab - failed: ${String(result.stderr).trim()}`);
}

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

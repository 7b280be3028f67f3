// Installs scheduled backups where this host runs them: the user's systemd timers, or the user's
// crontab where systemd is absent. Only stackctl's own units and crontab block are ever touched.
import { execa } from 'execa';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StackctlError } from '../errors.js';

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

export async function systemctl(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const result = await execa('systemctl', ['--user', ...args], { env, reject: false });
  if (result.exitCode !== 0)
    throw new StackctlError(
      'E_RUNTIME',
      `systemctl --user ${args.join(' ')} failed: ${String(result.stderr).trim()}`,
    );
}

export async function readCrontab(env: NodeJS.ProcessEnv): Promise<string> {
  const result = await execa('crontab', ['-l'], { env, reject: false });
  if (result.exitCode === 0) return String(result.stdout) + '\n';
  if (/no crontab/i.test(String(result.stderr))) return '';
  throw new StackctlError('E_RUNTIME', `crontab -l failed: ${String(result.stderr).trim()}`);
}

export async function writeCrontab(content: string, env: NodeJS.ProcessEnv): Promise<void> {
  const result = await execa('crontab', ['-'], { env, input: content, reject: false });
  if (result.exitCode !== 0)
    throw new StackctlError('E_RUNTIME', `crontab - failed: ${String(result.stderr).trim()}`);
}

// Scheduled backups: the policy's cron schedules as systemd timers, or as crontab entries where
// systemd is absent. Pure: what to write, from the schema and the command that runs stackctl.
import { createHash } from 'node:crypto';
import { StackctlError } from '../errors.js';
import type { StackFile } from '../schema/types.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** One field of a cron expression in systemd's calendar syntax. */
function calendarField(field: string, name: string, expression: string, pad: boolean): string {
  const format = (value: string): string => (pad && /^\d$/.test(value) ? `0${value}` : value);
  return field
    .split(',')
    .map((part) => {
      const step = /^(\*|\d+)\/(\d+)$/.exec(part);
      if (step)
        return `${step[1] === '*' ? (name === 'day of month' || name === 'month' ? '1' : '0') : format(step[1] ?? '')}/${step[2]}`;
      const range = /^(\d+)-(\d+)$/.exec(part);
      if (range) return `${format(range[1] ?? '')}..${format(range[2] ?? '')}`;
      if (part === '*' || /^\d+$/.test(part)) return part === '*' ? '*' : format(part);
      throw new StackctlError(
        'E_USAGE',
        `schedule "${expression}": its ${name} "${part}" has no systemd equivalent`,
        {
          hint: 'use plain numbers, lists, ranges and */N steps, or install with --cron',
        },
      );
    })
    .join(',');
}

function weekdays(field: string, expression: string): string {
  return field
    .split(',')
    .map((part) => {
      const range = /^(\d)-(\d)$/.exec(part);
      if (range) return `${DAYS[Number(range[1])]}..${DAYS[Number(range[2])]}`;
      if (/^\d$/.test(part)) return DAYS[Number(part)] ?? part;
      throw new StackctlError(
        'E_USAGE',
        `schedule "${expression}": its day of week "${part}" has no systemd equivalent`,
        {
          hint: 'use day numbers 0-7, lists and ranges, or install with --cron',
        },
      );
    })
    .join(',');
}

/**
 * A five-field cron expression as systemd OnCalendar= lines. cron runs a job when the day of
 * month OR the day of week matches (when both are restricted); systemd requires both, so that
 * case becomes two lines.
 */
export function cronToOnCalendar(expression: string): string[] {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5)
    throw new StackctlError('E_USAGE', `schedule "${expression}" is not five cron fields`, {
      hint: "e.g. '0 2 * * *' (02:00 every day)",
    });
  const [minute = '*', hour = '*', dom = '*', month = '*', dow = '*'] = fields;
  const time = `${calendarField(hour, 'hour', expression, true)}:${calendarField(minute, 'minute', expression, true)}:00`;
  const date = (day: string): string =>
    `*-${calendarField(month, 'month', expression, true)}-${calendarField(day, 'day of month', expression, true)}`;
  if (dom !== '*' && dow !== '*')
    return [`${date(dom)} ${time}`, `${weekdays(dow, expression)} ${date('*')} ${time}`];
  if (dow !== '*') return [`${weekdays(dow, expression)} ${date('*')} ${time}`];
  return [`${date(dom)} ${time}`];
}

/** A word safe in a systemd unit's ExecStart and in a crontab line: quoted when it must be. */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(word)) return word;
  if (/[\n\r%$`\\]/.test(word))
    throw new StackctlError('E_USAGE', `cannot schedule a command with "${word}" in it`, {
      hint: 'move the project to a path without line breaks, %, $, ` or \\',
    });
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Tells two checkouts of one project apart (their schema files are at different paths). */
export function checkoutTag(schemaPath: string): string {
  return createHash('sha256').update(schemaPath).digest('hex').slice(0, 8);
}

/** The systemd unit (without .service/.timer) of an environment's scheduled backup in one checkout. */
export function scheduleUnit(project: string, environment: string, schemaPath: string): string {
  return `stackctl-backup-${project}-${environment}-${checkoutTag(schemaPath)}`;
}

/** The unit name of earlier versions (no checkout tag): removed when it is this checkout's. */
export function legacyScheduleUnit(project: string, environment: string): string {
  return `stackctl-backup-${project}-${environment}`;
}

export interface ScheduledJob {
  readonly environment: string;
  readonly schedule: string;
  /** The unit name, without .service/.timer. */
  readonly unit: string;
  /** backup, then retention cleanup, of the environment (one shell line). */
  readonly command: string;
}

/** The environments with a schedule, and what each scheduled run does. */
export function scheduledJobs(
  file: StackFile,
  environments: readonly string[],
  stackctl: readonly string[],
  schemaPath: string,
): ScheduledJob[] {
  const run = (...args: string[]): string =>
    [...stackctl, ...args, '--schema', schemaPath].map(shellWord).join(' ');
  return environments.flatMap((environment) => {
    const schedule = file.backup?.retention?.[environment]?.schedule;
    if (schedule === undefined) return [];
    return [
      {
        environment,
        schedule,
        unit: scheduleUnit(file.project.name, environment, schemaPath),
        command: `${run('backup', environment, ...(file.backup?.retention?.[environment]?.allowStop === true ? ['--allow-stop'] : []))} && ${run('retention', 'cleanup', environment, '--yes')}`,
      },
    ];
  });
}

export function systemdUnits(
  job: ScheduledJob,
  workingDirectory: string,
): { service: string; timer: string } {
  return {
    service: [
      '# Written by stackctl schedule install; remove with stackctl schedule remove.',
      '[Unit]',
      `Description=stackctl backup of ${job.environment}, then retention cleanup`,
      '',
      '[Service]',
      'Type=oneshot',
      `WorkingDirectory=${shellWord(workingDirectory)}`,
      'Environment=NO_COLOR=1',
      `ExecStart=/bin/sh -c ${shellWord(job.command)}`,
      '',
    ].join('\n'),
    timer: [
      '# Written by stackctl schedule install; remove with stackctl schedule remove.',
      '[Unit]',
      `Description=stackctl backup of ${job.environment} (${job.schedule})`,
      '',
      '[Timer]',
      ...cronToOnCalendar(job.schedule).map((line) => `OnCalendar=${line}`),
      'Persistent=true',
      'RandomizedDelaySec=60',
      '',
      '[Install]',
      'WantedBy=timers.target',
      '',
    ].join('\n'),
  };
}

/** The marker lines around stackctl's entry for one environment of one checkout: nothing outside them is touched. */
export function crontabMarkers(
  project: string,
  environment: string,
  schemaPath: string,
): { begin: string; end: string } {
  const tag = checkoutTag(schemaPath);
  return {
    begin: `# >>> stackctl backup of ${project} ${environment} ${tag} >>>`,
    end: `# <<< stackctl backup of ${project} ${environment} ${tag} <<<`,
  };
}

/**
 * The lines of this checkout's entries: a begin marker, one job line and the end marker, exactly
 * (a stray marker alone marks nothing). Entries of earlier versions (markers without a checkout
 * tag) count when their job runs in this working directory.
 */
function ownEntryLines(
  lines: readonly string[],
  project: string,
  environment: string,
  schemaPath: string,
  workingDirectory: string,
): Set<number> {
  const { begin, end } = crontabMarkers(project, environment, schemaPath);
  const legacy = {
    begin: `# >>> stackctl backup of ${project} ${environment} >>>`,
    end: `# <<< stackctl backup of ${project} ${environment} <<<`,
  };
  const own = new Set<number>();
  lines.forEach((line, index) => {
    const job = lines[index + 1];
    const closing = lines[index + 2];
    const current = line === begin && closing === end;
    const earlier =
      line === legacy.begin &&
      closing === legacy.end &&
      job?.includes(` cd ${shellWord(workingDirectory)} && `) === true;
    if (job !== undefined && (current || earlier)) [index, index + 1, index + 2].forEach((at) => own.add(at));
  });
  return own;
}

/** Whether the crontab holds an entry of this checkout for the environment. */
export function hasCrontabEntry(
  crontab: string,
  project: string,
  environment: string,
  schemaPath: string,
  workingDirectory: string,
): boolean {
  return ownEntryLines(crontab.split('\n'), project, environment, schemaPath, workingDirectory).size > 0;
}

/** A crontab with stackctl's entry for one environment replaced by this job (or removed: undefined). */
export function withCrontabEntry(
  crontab: string,
  project: string,
  environment: string,
  job: ScheduledJob | undefined,
  workingDirectory: string,
  schemaPath: string,
): string {
  const { begin, end } = crontabMarkers(project, environment, schemaPath);
  const lines = crontab.split('\n');
  const own = ownEntryLines(lines, project, environment, schemaPath, workingDirectory);
  const kept = lines.filter((_, index) => !own.has(index));
  while (kept.length > 0 && kept.at(-1) === '') kept.pop();
  const entry = job
    ? [begin, `${job.schedule} cd ${shellWord(workingDirectory)} && NO_COLOR=1 ${job.command}`, end]
    : [];
  const all = [...kept, ...entry];
  return all.length === 0 ? '' : `${all.join('\n')}\n`;
}

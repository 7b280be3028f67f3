// Scheduled backups: cron schedules as systemd calendar events (checked by systemd's own parser,
// against cron-parser's next runs), the units, and a crontab entry that leaves every other line be.
import { CronExpressionParser } from 'cron-parser';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  checkoutTag,
  cronToOnCalendar,
  crontabMarkers,
  hasCrontabEntry,
  scheduledJobs,
  systemdUnits,
  withCrontabEntry,
} from '../../src/plan/schedule.js';
import type { StackFile } from '../../src/schema/types.js';

const SCHEDULES = [
  '0 2 * * *',
  '0 1 * * 0',
  '*/15 * * * *',
  '30 4 1,15 * *',
  '0 9 * * 1-5',
  '5 0 * 1-6 *',
  '0 3 10 * 2',
];

/** The next runs systemd computes for calendar events, in UTC. */
async function systemdNextRuns(events: string[], count: number): Promise<number[]> {
  const result = await execa('systemd-analyze', ['calendar', `--iterations=${count}`, ...events], {
    env: { TZ: 'UTC' },
  });
  return [
    ...result.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g),
  ].map((match) => Date.parse(`${match[1]?.replace(' ', 'T')}Z`));
}

describe('cron schedules as systemd timers', () => {
  it.each(SCHEDULES)('%s fires when cron would', async (schedule) => {
    const events = cronToOnCalendar(schedule);
    const systemd = [...new Set(await systemdNextRuns(events, 6))].sort((a, b) => a - b).slice(0, 6);
    const cron = CronExpressionParser.parse(schedule, { tz: 'UTC' });
    const expected = Array.from({ length: 6 }, () => cron.next().getTime());
    expect(systemd.map((t) => new Date(t).toISOString())).toEqual(
      expected.map((t) => new Date(t).toISOString()),
    );
  });

  it('refuses what systemd cannot say, with the way out', () => {
    expect(() => cronToOnCalendar('0 2 * * MON')).toThrow('has no systemd equivalent');
    expect(() => cronToOnCalendar('0 2 * *')).toThrow('is not five cron fields');
  });
});

const file = {
  project: { name: 'multimodal' },
  backup: {
    tiers: {},
    defaultTier: 'local',
    retention: { production: { days: 90, schedule: '0 1 * * 0' }, testing: { days: 3 } },
  },
} as unknown as StackFile;

describe('the scheduled job', () => {
  const jobs = scheduledJobs(
    file,
    ['production', 'testing'],
    ['/usr/bin/node', '/opt/stack ctl/bin.js'],
    '/srv/app/schemas/compose-schema.yaml',
  );

  it('backs up then cleans up each environment with a schedule, quoting what needs it', () => {
    expect(jobs).toEqual([
      {
        environment: 'production',
        schedule: '0 1 * * 0',
        unit: `stackctl-backup-multimodal-production-${checkoutTag('/srv/app/schemas/compose-schema.yaml')}`,
        command:
          "/usr/bin/node '/opt/stack ctl/bin.js' backup production --schema /srv/app/schemas/compose-schema.yaml && /usr/bin/node '/opt/stack ctl/bin.js' retention cleanup production --yes --schema /srv/app/schemas/compose-schema.yaml",
      },
    ]);
    const units = systemdUnits(jobs[0]!, '/srv/app');
    expect(units.timer).toContain('OnCalendar=Sun *-*-* 01:00:00\nPersistent=true');
    expect(units.service).toContain('Type=oneshot\nWorkingDirectory=/srv/app');
  });

  const schema = '/srv/app/schemas/compose-schema.yaml';
  it('replaces only its own crontab entry, and removes only it', () => {
    const mine = '0 3 * * * /usr/local/bin/my-own-job\n';
    const installed = withCrontabEntry(mine, 'multimodal', 'production', jobs[0], '/srv/app', schema);
    expect(installed.startsWith(mine)).toBe(true);
    expect(installed).toContain('0 1 * * 0 cd /srv/app && NO_COLOR=1 /usr/bin/node');
    // Installing again replaces, never duplicates.
    expect(withCrontabEntry(installed, 'multimodal', 'production', jobs[0], '/srv/app', schema)).toBe(
      installed,
    );
    expect(withCrontabEntry(installed, 'multimodal', 'production', undefined, '/srv/app', schema)).toBe(mine);
  });

  it('a stray begin marker marks nothing: the user’s own jobs after it stay', () => {
    const { begin } = crontabMarkers('multimodal', 'production', schema);
    const mine = `${begin}\n0 3 * * * /usr/local/bin/my-own-job\n15 4 * * * /usr/local/bin/another\n`;
    const installed = withCrontabEntry(mine, 'multimodal', 'production', jobs[0], '/srv/app', schema);
    const removed = withCrontabEntry(installed, 'multimodal', 'production', undefined, '/srv/app', schema);
    expect(removed).toBe(mine);
    expect(hasCrontabEntry(mine, 'multimodal', 'production', schema, '/srv/app')).toBe(false);
  });

  it('two checkouts of one project keep their own entries; an earlier version’s entry of this checkout is replaced', () => {
    const other = '/home/me/copy/schemas/compose-schema.yaml';
    const first = withCrontabEntry('', 'multimodal', 'production', jobs[0], '/srv/app', schema);
    const both = withCrontabEntry(first, 'multimodal', 'production', jobs[0], '/home/me/copy', other);
    expect(both.startsWith(first)).toBe(true);
    expect(withCrontabEntry(both, 'multimodal', 'production', undefined, '/home/me/copy', other)).toBe(first);
    const legacy = [
      '# >>> stackctl backup of multimodal production >>>',
      '0 1 * * 0 cd /srv/app && NO_COLOR=1 stackctl backup production',
      '# <<< stackctl backup of multimodal production <<<',
      '',
    ].join('\n');
    expect(withCrontabEntry(legacy, 'multimodal', 'production', undefined, '/srv/app', schema)).toBe('');
    // Another checkout's earlier entry is not this one's to remove.
    expect(withCrontabEntry(legacy, 'multimodal', 'production', undefined, '/home/me/copy', other)).toBe(
      legacy,
    );
  });
});

// What stackctl knows that no exporter does, as Prometheus metrics for the node exporter's textfile
// collector (one <env>.prom file per environment): when each secret is due for rotation, and when
// each service's next backup is due (its last sound backup plus the schedule's interval, with half
// an interval of grace). The alert rules compare them with time(). Pure.
import { CronExpressionParser } from 'cron-parser';
import type { SecretStore } from '../generate/secrets.js';
import { compareText } from '../text.js';

export const SECRET_DUE = 'stackctl_secret_rotation_due_timestamp_seconds';
export const BACKUP_LAST = 'stackctl_backup_last_success_timestamp_seconds';
export const BACKUP_DUE = 'stackctl_backup_due_timestamp_seconds';

/** Seconds between two consecutive runs of a cron schedule (undefined when it cannot be read). */
export function scheduleIntervalSeconds(schedule: string, from: Date): number | undefined {
  try {
    const times = CronExpressionParser.parse(schedule, { currentDate: from, tz: 'UTC', strict: false });
    const first = times.next().getTime();
    const second = times.next().getTime();
    return (second - first) / 1000;
  } catch {
    return undefined;
  }
}

/** Each service's last sound backup, from a metrics file this module wrote (so a partial backup keeps the others). */
export function lastBackupsOf(text: string, environment: string): Map<string, number> {
  const last = new Map<string, number>();
  const line = new RegExp(`^${BACKUP_LAST}\\{environment="([^"]*)",service="([^"]*)"\\} (\\d+(?:\\.\\d+)?)$`);
  for (const entry of text.split('\n')) {
    const match = line.exec(entry);
    if (match && match[1] === environment) last.set(match[2] ?? '', Number(match[3]));
  }
  return last;
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The metrics file of one environment. */
export function stateMetricsText(
  environment: string,
  store: SecretStore | undefined,
  lastBackups: ReadonlyMap<string, number>,
  backupIntervalSeconds: number | undefined,
): string {
  const env = label(environment);
  const lines = [
    `# HELP ${SECRET_DUE} When stackctl's policy says the secret is due for rotation (secretTypes.rotationDays).`,
    `# TYPE ${SECRET_DUE} gauge`,
    ...Object.entries(store?.secrets ?? {})
      .sort(([a], [b]) => compareText(a, b))
      .flatMap(([name, entry]) => {
        const due = Date.parse(entry.rotationDueAt);
        return Number.isFinite(due)
          ? [`${SECRET_DUE}{environment="${env}",name="${label(name)}"} ${String(Math.round(due / 1000))}`]
          : [];
      }),
    `# HELP ${BACKUP_LAST} When the newest sound backup of the service finished.`,
    `# TYPE ${BACKUP_LAST} gauge`,
    ...[...lastBackups]
      .sort(([a], [b]) => compareText(a, b))
      .map(
        ([service, at]) =>
          `${BACKUP_LAST}{environment="${env}",service="${label(service)}"} ${String(Math.round(at))}`,
      ),
  ];
  if (backupIntervalSeconds !== undefined)
    lines.push(
      `# HELP ${BACKUP_DUE} When the next backup is overdue: the last one, plus the schedule's interval and half of it again.`,
      `# TYPE ${BACKUP_DUE} gauge`,
      ...[...lastBackups]
        .sort(([a], [b]) => compareText(a, b))
        .map(
          ([service, at]) =>
            `${BACKUP_DUE}{environment="${env}",service="${label(service)}"} ${String(Math.round(at + 1.5 * backupIntervalSeconds))}`,
        ),
    );
  return `${lines.join('\n')}\n`;
}

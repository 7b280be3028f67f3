// Keeps .stackctl/metrics/<env>.prom current (secret rotation dates, each service's last backup)
// for a node exporter whose textfile collector reads it: after generate and start (the store may be
// new), after a rotation, after a backup. Only for a schema that runs such an exporter.
import { readStateMetrics, writeStateMetrics } from '../effects/state-metrics-file.js';
import type { SecretStore } from '../generate/secrets.js';
import type { LoadedStack } from '../model/stack.js';
import { TEXTFILE_FLAG } from '../generate/prometheus-rules.js';
import { lastBackupsOf, scheduleIntervalSeconds, stateMetricsText } from '../plan/state-metrics.js';

/** Whether a service of the schema runs a node exporter with a textfile collector. */
export function exportsStateMetrics(stack: LoadedStack): boolean {
  return Object.values(stack.file.services).some((service) => {
    const command = service.command;
    const args = typeof command === 'string' ? command.split(/\s+/) : (command ?? []);
    return args.some((arg) => arg === TEXTFILE_FLAG || arg.startsWith(`${TEXTFILE_FLAG}=`));
  });
}

export async function refreshStateMetrics(
  stack: LoadedStack,
  environment: string,
  store: SecretStore | undefined,
  backedUp?: { readonly services: readonly string[]; readonly at: Date },
): Promise<void> {
  if (!exportsStateMetrics(stack)) return;
  const lastBackups = lastBackupsOf(await readStateMetrics(stack.root, environment), environment);
  for (const service of backedUp?.services ?? [])
    lastBackups.set(service, (backedUp?.at.getTime() ?? 0) / 1000);
  const schedule = stack.file.backup?.retention?.[environment]?.schedule;
  // Only a service backed up before has a next backup due; reading the schedule (cron-parser, through
  // luxon and the ICU data behind Intl) costs a first run a tenth of generate.
  const interval =
    schedule === undefined || lastBackups.size === 0
      ? undefined
      : scheduleIntervalSeconds(schedule, new Date());
  await writeStateMetrics(
    stack.root,
    environment,
    stateMetricsText(environment, store, lastBackups, interval),
  );
}

import { EXIT, ReportedFailure } from '../../errors.js';
import { STABLE_MS } from '../../health/classify.js';
import { listReleases, rollbackEnvironment } from '../../lifecycle/rollback.js';
import { upgradeEnvironment, type UpgradeOutcome, type UpgradeView } from '../../lifecycle/upgrade.js';
import type { ReleaseRecord } from '../../plan/release.js';
import { confirm } from '../../ui/confirm.js';
import { startProgress, type Progress } from '../../ui/progress.js';
import { table } from '../../ui/table.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { printChanges } from './images.js';
import { parseDuration } from './start.js';

export interface UpgradeFlags {
  service: string[];
  pull?: boolean;
  build?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  /** commander's --no-snapshot. */
  snapshot: boolean;
  timeout: string;
  settle?: string;
  schema?: string;
  json?: boolean;
}

export interface RollbackFlags {
  to?: string;
  restoreData?: boolean;
  yes?: boolean;
  timeout: string;
  settle?: string;
  schema?: string;
  json?: boolean;
}

export async function upgradeAction(env: string, flags: UpgradeFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const progress = startProgress(ctx, `Planning the upgrade of ${env}`);
  const outcome = await upgradeEnvironment(
    stack,
    {
      envName: env,
      services: flags.service,
      pull: flags.pull === true,
      build: flags.build === true,
      dryRun: flags.dryRun === true,
      snapshot: flags.snapshot,
      yes: flags.yes === true,
      timing: timingOf(flags),
      command: commandLine('upgrade', env, flags),
    },
    ctx,
    releaseView(ctx, progress, flags),
  ).finally(() => progress.stop());
  report(outcome, env, ctx, flags.json === true);
}

export async function rollbackAction(env: string, flags: RollbackFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const progress = startProgress(ctx, `Rolling ${env} back`);
  const outcome = await rollbackEnvironment(
    stack,
    {
      envName: env,
      to: flags.to,
      restoreData: flags.restoreData === true,
      yes: flags.yes === true,
      timing: timingOf(flags),
      command: commandLine('rollback', env, flags),
    },
    ctx,
    releaseView(ctx, progress, flags),
  ).finally(() => progress.stop());
  report(outcome, env, ctx, flags.json === true);
}

export async function releasesAction(
  env: string,
  flags: { schema?: string; json?: boolean },
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const records = await listReleases(stack, env);
  if (flags.json === true) {
    printJson(ctx.stdout, records);
    return;
  }
  if (records.length === 0) {
    printLine(ctx.stdout, `${env} has no releases yet (stackctl upgrade ${env} makes one)`);
    return;
  }
  const rows = [
    ['RELEASE', 'TIME', 'STATE', 'CHANGED', 'BY', 'COMMAND'],
    ...records.map((record) => [
      record.id,
      record.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      record.of === undefined ? record.state : `${record.state} of ${record.of}`,
      record.plan.map((step) => `${step.service} (${step.reasons.join('+')})`).join(', ') || '-',
      record.by,
      record.command,
    ]),
  ];
  for (const line of table(rows, (text) => ctx.colors.bold(text))) printLine(ctx.stdout, line);
}

function timingOf(flags: { timeout: string; settle?: string }): { timeoutMs: number; settleMs: number } {
  return {
    timeoutMs: parseDuration('--timeout', flags.timeout),
    settleMs: flags.settle === undefined ? STABLE_MS : parseDuration('--settle', flags.settle),
  };
}

/** The command as run, flags included (none of them can hold a secret). */
function commandLine(name: string, env: string, flags: object): string {
  const parts = Object.entries(flags)
    .filter(([key, value]) => value !== undefined && value !== false && key !== 'schema' && key !== 'json')
    .flatMap(([key, value]) => {
      const flag = `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
      if (value === true) return key === 'snapshot' ? [] : [flag];
      if (Array.isArray(value))
        return value.map((item) => `${flag.replace(/-service$/, '-service')} ${String(item)}`);
      return key === 'timeout' && value === '10m' ? [] : [`${flag} ${String(value)}`];
    });
  return ['stackctl', name, env, ...parts].join(' ');
}

function releaseView(
  ctx: CommandContext,
  progress: Progress,
  flags: { yes?: boolean; json?: boolean },
): UpgradeView {
  const say = (line: string): void => progress.log(line);
  return {
    begin: (action, services) =>
      progress.update(`${action === 'pull' ? 'Pulling' : 'Building'} ${services.join(', ') || 'nothing'}`),
    line: (line) => {
      if (progress.animated) progress.update(line.trim());
    },
    planned: (plan, images) => {
      progress.stop();
      if (flags.json === true) return;
      if (images.length > 0) printChanges(images, 'pull', '', { ...ctx, stdout: ctx.stderr });
      if (plan.length === 0) return;
      printLine(ctx.stderr, 'The upgrade recreates, in this order:');
      for (const step of plan)
        printLine(
          ctx.stderr,
          `  ${step.service.padEnd(20)} ${step.reasons.join(' + ').padEnd(14)} ${step.strategy} (${step.strategyReason})`,
        );
    },
    confirm: (question) => confirm(ctx, question, flags.yes === true),
    step: (text) => progress.update(text),
    serviceDone: (rolled) =>
      say(
        `${ctx.colors.green('✔')} ${rolled.service} ready in ${seconds(rolled.elapsedMs)} (${rolled.strategy}, ${rolled.downtimeMs === 0 ? 'no downtime' : `down ${seconds(rolled.downtimeMs)}`})`,
      ),
    checked: (result) =>
      say(
        `${result.status === 'passed' ? ctx.colors.green('✔') : ctx.colors.red('✖')} verify ${result.service}: ${result.name}${result.detail === undefined ? '' : ` (${result.detail})`}`,
      ),
    failed: (reason) => say(ctx.colors.red(`✖ ${reason}: rolling back`)),
    rollingBack: (service) => progress.update(`Rolling back ${service}`),
    rolledBack: (rolled) => say(`${ctx.colors.yellow('↩')} ${rolled.service} back on its previous release`),
    removed: (service) => say(`${ctx.colors.yellow('↩')} ${service} removed (the release added it)`),
    confirmDataRestore: async (services) => {
      progress.stop();
      try {
        await confirm(
          ctx,
          `The failed release may have written to ${services.join(', ')}. Restore their data from the snapshot taken before it (what was written since is lost)?`,
          flags.yes === true,
        );
        return true;
      } catch {
        return false;
      }
    },
  };
}

function report(outcome: UpgradeOutcome, env: string, ctx: CommandContext, json: boolean): void {
  if (json) printJson(ctx.stdout, outcome);
  switch (outcome.kind) {
    case 'unchanged':
      if (!json)
        printLine(ctx.stdout, `${env} already runs its newest images and configuration: nothing to roll out`);
      return;
    case 'planned':
      if (!json)
        printLine(ctx.stdout, `Dry run: nothing was changed (${String(outcome.plan.length)} to roll out)`);
      return;
    case 'upgraded':
      if (!json)
        printLine(
          ctx.stdout,
          `${ctx.colors.green('✔')} ${env} upgraded: release ${outcome.record.id}${downtime(outcome.record)}`,
        );
      return;
    case 'rolled-back':
      if (!json) {
        const record = outcome.record;
        const data = record.rollback;
        printLine(
          ctx.stdout,
          record.of === undefined
            ? `${ctx.colors.yellow('↩')} ${env} is back on the release before ${record.id} (${record.failure ?? 'failed'})`
            : `${ctx.colors.green('✔')} ${env} is back on what it ran before ${record.of}`,
        );
        if (data && data.restoredData.length > 0)
          printLine(ctx.stdout, `  data restored from the snapshot: ${data.restoredData.join(', ')}`);
        if (data && data.keptData.length > 0)
          printLine(ctx.stdout, `  data kept as the new release left it: ${data.keptData.join(', ')}`);
      }
      if (outcome.record.of === undefined)
        throw new ReportedFailure(ctx.signal.aborted ? EXIT.interrupted : EXIT.runtime);
      return;
    case 'rollback-failed':
      if (!json)
        printLine(
          ctx.stdout,
          `${ctx.colors.red('✖')} ${env}: rolling back failed too: ${outcome.record.rollback?.error ?? ''}; the record says what is where: stackctl releases ${env}`,
        );
      throw new ReportedFailure(EXIT.runtime);
  }
}

function downtime(record: ReleaseRecord): string {
  const entries = Object.entries(record.downtimeMs).filter(([, ms]) => ms > 0);
  return entries.length === 0
    ? ', no downtime'
    : `; down: ${entries.map(([service, ms]) => `${service} ${seconds(ms)}`).join(', ')}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

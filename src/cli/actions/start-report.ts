import type { ServiceState } from '../../health/classify.js';
import type { EnvironmentModel } from '../../model/environment.js';
import type {
  ContainerSummary,
  FailureDiagnosis,
  StartCounts,
  StartView,
  WaitResult,
} from '../../lifecycle/start-types.js';
import type { GpuMode } from '../../plan/gpu-layout.js';
import { describeLeftDown, type LeftDown } from '../../plan/left-down.js';
import type { LaunchNode, StartPlan } from '../../plan/start.js';
import type { Check } from '../../preflight/checks.js';
import { startProgress, type Progress } from '../../ui/progress.js';
import { table } from '../../ui/table.js';
import { publishedUrls } from '../../ui/urls.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { formatChecks, terminalColumns } from './preflight-report.js';

export interface StartFlags {
  yes?: boolean;
  stack: string[];
  service: string[];
  gpu?: GpuMode;
  timeout: string;
  /** How long every service must stay ready after the last one became ready (default 3s). */
  settle?: string;
  wait: boolean;
  skipPreflight?: boolean;
  /** Preflight checks (or groups) reported as skipped instead of failing. */
  skipCheck?: string[];
  dryRun?: boolean;
  json?: boolean;
  schema?: string;
  /** Deploy to the Docker Swarm this engine manages instead of running compose. */
  swarm?: boolean;
}

/**
 * What start shows while it runs, on stderr: preflight findings, a spinner (or plain lines) with the
 * count of ready services, a line per ready stack. With --json, nothing: stdout gets one document.
 */
export function startView(envName: string, flags: StartFlags, ctx: CommandContext): StartView {
  const quiet = flags.json === true;
  let onScreen: Progress | undefined;
  const say = (line: string): void => {
    if (!quiet) printLine(ctx.stderr, line);
  };
  const counted = (counts: StartCounts): string => `${counts.ready}/${counts.total} ready`;
  // Above a spinner, a line of its own is written through it, so the spinner is redrawn below.
  const show = (line: string): void => {
    if (quiet) return;
    if (onScreen?.animated === true) onScreen.log(line);
    else printLine(ctx.stderr, line);
  };
  return {
    skippedPreflight: () =>
      say(
        ctx.colors.yellow(
          '⚠ preflight skipped (--skip-preflight): host problems will show up as start failures',
        ),
      ),
    preflight: (findings, failed) => {
      // A failure outside a dry run is reported in full by the caller (exit 3).
      if (quiet || findings.length === 0 || (failed && flags.dryRun !== true)) return;
      for (const line of formatChecks(findings, ctx.colors, terminalColumns(ctx.stderr))) say(line);
      if (failed) say(ctx.colors.red(`✖ ${envName}: preflight failed; the plan once that is fixed:`));
    },
    progress: (text) => (onScreen = quiet ? undefined : startProgress(ctx, text)),
    launching: (counts) => {
      if (quiet) return undefined;
      const columns = (ctx.stderr as { columns?: number }).columns ?? 80;
      const spinner = startProgress(ctx, launchLine(counts(), columns));
      onScreen = spinner;
      // A spinner shows the time so far even while nothing changes (a long pull, a slow healthcheck).
      const timer = spinner.animated
        ? setInterval(() => spinner.update(launchLine(counts(), columns)), 1000)
        : undefined;
      timer?.unref();
      return {
        animated: spinner.animated,
        update: (text) => spinner.update(text),
        log: (line) => spinner.log(line),
        stop: () => {
          clearInterval(timer);
          spinner.stop();
        },
      };
    },
    serviceChanged: (service, state, counts) => {
      const columns = (ctx.stderr as { columns?: number }).columns ?? 80;
      if (onScreen?.animated === true) onScreen.update(launchLine(counts, columns));
      if (state.phase !== 'starting')
        show(`${service}: ${state.detail} (${seconds(counts.elapsedMs)}) [${counted(counts)}]`);
    },
    stackReady: (stack, counts) =>
      show(ctx.colors.green(`✔ ${stack} ready in ${seconds(counts.elapsedMs)} (${counted(counts)})`)),
    note: show,
    transfer: (line) => {
      if (onScreen?.animated === true) onScreen.log(line);
    },
    composeOutput: say,
  };
}

const PHASE_WORDS = { creating: 'Creating', starting: 'Starting', waiting: 'Waiting for' } as const;

/**
 * The spinner's line: the phase, the services it concerns (those being created, else those not
 * ready yet), the count and the time so far, cut to the terminal's width with "+N more".
 */
export function launchLine(counts: StartCounts, columns: number): string {
  const names = counts.phase === 'creating' ? counts.creating : counts.pending;
  const tail = ` (${counts.ready}/${counts.total} ready, ${Math.floor(counts.elapsedMs / 1000)}s)`;
  const head = `${PHASE_WORDS[counts.phase]}: `;
  // The spinner and a space take 2 columns; a line that wraps would be redrawn forever.
  const room = Math.max(20, columns - 3) - head.length - tail.length;
  let shown = '';
  for (const [index, name] of names.entries()) {
    const rest = names.length - index - 1;
    const next = shown === '' ? name : `${shown}, ${name}`;
    const more = rest > 0 ? ` +${rest} more` : '';
    if (next.length + more.length > room && shown !== '')
      return `${head}${shown} +${names.length - index} more${tail}`;
    shown = next;
  }
  return `${head}${shown}${tail}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function printDryRun(
  plan: StartPlan,
  files: readonly { path: string; status: string }[],
  model: EnvironmentModel,
  ctx: CommandContext,
  json: boolean,
  wait: boolean,
  preflight: readonly Check[],
): void {
  const changed = files.filter((file) => file.status !== 'unchanged');
  if (json) {
    printJson(ctx.stdout, {
      environment: model.name,
      project: model.project,
      preflight,
      files: changed,
      ...(wait
        ? {
            create: plan.create.map((step) => ({
              services: step.services,
              command: ['docker', 'compose', ...step.args],
            })),
            // Each service is started through the Docker API once what it waits for is met.
            graph: plan.graph.map((node) => ({
              service: node.service,
              stack: node.stack,
              waitsFor: node.waitsFor,
            })),
          }
        : { command: ['docker', 'compose', ...plan.upArgs] }),
      expectationsFrom: plan.expectationsFrom,
      waits: plan.waits.map((wait) => ({
        service: wait.service,
        kind: wait.kind,
        replicas: wait.replicas,
        healthcheck: wait.hasHealthcheck,
        budgetSeconds: wait.budgetMs / 1000,
        budget: wait.budgetReason,
      })),
    });
    return;
  }
  printLine(ctx.stdout, `Plan for ${model.name} (compose project ${model.project}); nothing is changed:`);
  printLine(ctx.stdout, changed.length === 0 ? '  files: all up to date' : '  files that would change:');
  for (const file of changed) printLine(ctx.stdout, `    ${file.status.padEnd(8)} ${file.path}`);
  if (!wait) {
    printLine(ctx.stdout, `  compose: docker compose ${plan.upArgs.join(' ')}`);
  } else {
    printLine(ctx.stdout, '  create the containers:');
    for (const [index, step] of plan.create.entries())
      printLine(
        ctx.stdout,
        `    docker compose ${step.args.join(' ')}${index === 0 ? '' : '   (while the first ones start)'}`,
      );
    printLine(ctx.stdout, '  start each service (Docker API) once what it waits for is met:');
    for (const node of plan.graph)
      printLine(
        ctx.stdout,
        `    [${node.stack}] ${node.service.padEnd(20)} ${waitsForText(node, plan.graph)}`,
      );
  }
  printLine(
    ctx.stdout,
    plan.expectationsFrom === 'compose'
      ? '  then wait for (as `docker compose config` resolves the files, your overlay included):'
      : '  then wait for (from the schema; run `stackctl generate` first to see what compose resolves):',
  );
  for (const wait of plan.waits) {
    printLine(
      ctx.stdout,
      `    ${wait.service.padEnd(20)} ${wait.replicas === 1 ? '' : `×${wait.replicas} `}up to ${Math.round(wait.budgetMs / 1000)}s  (${wait.budgetReason})`,
    );
  }
}

/** What a service waits for, short: its own dependencies, then whole stacks. */
function waitsForText(node: LaunchNode, graph: readonly LaunchNode[]): string {
  const stackOf = new Map(graph.map((other) => [other.service, other.stack]));
  const own = node.waitsFor
    .filter((dep) => dep.condition !== 'service_ready')
    .map((dep) => `${dep.service} ${dep.condition.replace('service_', '').replace('_successfully', '')}`);
  const stacks = [
    ...new Set(
      node.waitsFor
        .filter((dep) => dep.condition === 'service_ready')
        .map((dep) => stackOf.get(dep.service) ?? ''),
    ),
  ];
  const parts = [...own, ...(stacks.length > 0 ? [`${stacks.join(', ')} ready`] : [])];
  return parts.length === 0 ? 'at once' : `after ${parts.join('; ')}`;
}

export function explainFailure(
  envName: string,
  failure: WaitResult,
  diagnosis: FailureDiagnosis,
  results: readonly WaitResult[],
  flags: StartFlags,
  ctx: CommandContext,
  preflight: readonly Check[],
  leftDown: readonly LeftDown[] = [],
): void {
  const { lastHealthcheck: health, logs } = diagnosis;
  if (flags.json === true) {
    printJson(ctx.stdout, {
      environment: envName,
      ok: false,
      failed: {
        service: failure.service,
        reason: failureReason(failure.state),
        detail: failure.state.detail,
      },
      lastHealthcheck: health ?? null,
      logs,
      services: results.map(serviceJson),
      leftDown,
      preflight,
    });
    return;
  }
  const { colors } = ctx;
  printLine(ctx.stderr, colors.red(`✖ ${failure.service}: ${failure.state.detail}`));
  if (health !== undefined) printLine(ctx.stderr, `  last healthcheck: ${health}`);
  if (logs.length > 0) {
    printLine(ctx.stderr, `  last ${logs.length} log lines of ${diagnosis.container ?? failure.service}:`);
    for (const line of logs) printLine(ctx.stderr, `    ${line}`);
  }
  if (leftDown.length > 0) {
    printLine(ctx.stderr, colors.yellow(`  Running before this start, not running now:`));
    for (const entry of leftDown) printLine(ctx.stderr, colors.yellow(`    ${describeLeftDown(entry)}`));
  }
  printLine(
    ctx.stderr,
    `  The rest is left running for inspection. Start again once ${failure.service} is fixed (stackctl start ${envName}), or stop it: stackctl stop ${envName}`,
  );
}

function failureReason(state: ServiceState): string {
  return state.phase === 'failed' ? state.reason : state.phase;
}

function serviceJson(result: WaitResult) {
  const container = result.containers[0];
  return {
    name: result.service,
    state: container?.status ?? 'missing',
    health: container?.health ?? null,
    phase: result.state.phase,
    detail: result.state.detail,
    containers: result.containers.length,
    readyAfterSeconds: result.state.phase === 'ready' ? Number((result.elapsedMs / 1000).toFixed(1)) : null,
    // When stackctl saw it ready (a job that completed earlier has none).
    readyAt: result.state.phase === 'ready' && result.at > 0 ? new Date(result.at).toISOString() : null,
    urls: serviceUrls(result.containers),
  };
}

export function serviceUrls(containers: readonly ContainerSummary[]): string[] {
  return publishedUrls(containers.flatMap((container) => container.ports));
}

export function printSummary(
  envName: string,
  model: EnvironmentModel,
  rows: readonly WaitResult[],
  flags: StartFlags,
  ctx: CommandContext,
  elapsedMs: number,
  preflight: readonly Check[],
): void {
  if (flags.json === true) {
    printJson(ctx.stdout, {
      environment: envName,
      project: model.project,
      ok: true,
      seconds: Number((elapsedMs / 1000).toFixed(1)),
      services: rows.map(serviceJson),
      preflight,
    });
    return;
  }
  const lines = table(
    [
      ['SERVICE', 'STATE', 'HEALTH', 'URL'],
      ...rows.map((row) => {
        const container = row.containers[0];
        return [
          row.service,
          container?.status ?? 'missing',
          container?.health ?? '-',
          serviceUrls(row.containers).join(' ') || '-',
        ];
      }),
    ],
    ctx.colors.bold,
  );
  for (const line of lines) printLine(ctx.stdout, line);
  printLine(ctx.stdout, '');
  const took = `${(elapsedMs / 1000).toFixed(1)}s`;
  if (flags.wait) printLine(ctx.stdout, ctx.colors.green(`✔ ${envName} is up and healthy in ${took}`));
  else printLine(ctx.stdout, notWaitedLine(envName, rows, took, ctx));
  printLine(
    ctx.stdout,
    `  secrets: secrets/.env.${envName}.json (one value: stackctl secrets get ${envName} NAME)`,
  );
  printLine(ctx.stdout, `  status:  stackctl status ${envName}`);
  printLine(ctx.stdout, `  logs:    stackctl logs ${envName} SERVICE -f`);
  printLine(ctx.stdout, `  stop:    stackctl stop ${envName}`);
}

/** --no-wait: what Docker says right now, never a tick: nothing was checked to be healthy. */
function notWaitedLine(
  envName: string,
  rows: readonly WaitResult[],
  took: string,
  ctx: CommandContext,
): string {
  const containers = rows.flatMap((row) => row.containers);
  const down = containers.filter((c) => c.status !== 'running' || c.health === 'unhealthy');
  const counts = `${containers.length - down.length} of ${containers.length} containers running`;
  if (down.length > 0)
    return ctx.colors.red(
      `✖ ${envName} was started in ${took} (not waited for); ${counts}, not running or unhealthy: ${down.map((c) => c.name).join(', ')}`,
    );
  return ctx.colors.yellow(
    `• ${envName} was started in ${took}, not waited for: ${counts}, health not checked (stackctl status ${envName})`,
  );
}

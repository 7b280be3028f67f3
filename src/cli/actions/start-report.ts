import type Docker from 'dockerode';
import {
  lastHealthOutput,
  projectContainers,
  tailLogs,
  type ContainerSummary,
} from '../../effects/containers.js';
import type { WaitResult } from '../../effects/health-waiter.js';
import type { ServiceState } from '../../health/classify.js';
import type { EnvironmentModel } from '../../model/environment.js';
import type { StartPlan } from '../../plan/start.js';
import type { Check } from '../../preflight/checks.js';
import { table } from '../../ui/table.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import type { StartFlags } from './start.js';

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
      steps: plan.steps.map((step, index) => ({
        stack: step.stack,
        services: step.services,
        ...(index === 0 || !wait
          ? { command: ['docker', 'compose', ...step.args] }
          : {
              // Created while the stack before starts, started through the Docker API once it is ready.
              command: ['docker', 'compose', ...step.createArgs],
              startedThroughApiAfter: plan.steps[index - 1]?.stack,
              waitsFor: step.after,
            }),
      })),
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
  printLine(ctx.stdout, '  compose, in order:');
  for (const [index, step] of plan.steps.entries()) {
    if (index === 0 || !wait) {
      printLine(ctx.stdout, `    [${step.stack}] docker compose ${step.args.join(' ')}`);
      continue;
    }
    const previous = plan.steps[index - 1]?.stack ?? '';
    printLine(ctx.stdout, `    [${step.stack}] docker compose ${step.createArgs.join(' ')}`);
    printLine(
      ctx.stdout,
      `    [${step.stack}]   (while ${previous} starts; its containers start through the Docker API once ${previous} is ready)`,
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

export async function explainFailure(
  docker: Docker,
  envName: string,
  failure: WaitResult,
  redact: (text: string) => string,
  results: readonly WaitResult[],
  flags: StartFlags,
  ctx: CommandContext,
  preflight: readonly Check[],
): Promise<void> {
  const container = pickContainer(failure.containers);
  const health = container ? await lastHealthOutput(docker, container.id) : undefined;
  const logs = container ? (await tailLogs(docker, container.id, 20)).map(redact) : [];
  if (flags.json === true) {
    printJson(ctx.stdout, {
      environment: envName,
      ok: false,
      failed: {
        service: failure.service,
        reason: failureReason(failure.state),
        detail: failure.state.detail,
      },
      lastHealthcheck: health === undefined ? null : redact(health),
      logs,
      services: results.map(serviceJson),
      preflight,
    });
    return;
  }
  const { colors } = ctx;
  printLine(ctx.stderr, colors.red(`✖ ${failure.service}: ${failure.state.detail}`));
  if (health !== undefined) printLine(ctx.stderr, `  last healthcheck: ${redact(health)}`);
  if (logs.length > 0) {
    printLine(ctx.stderr, `  last ${logs.length} log lines of ${container?.name ?? failure.service}:`);
    for (const line of logs) printLine(ctx.stderr, `    ${line}`);
  }
  printLine(ctx.stderr, `  The stack is left running for inspection. Stop it with: stackctl stop ${envName}`);
}

function pickContainer(containers: readonly ContainerSummary[]): ContainerSummary | undefined {
  return containers.find((c) => c.status !== 'running' || c.health === 'unhealthy') ?? containers[0];
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
    urls: serviceUrls(result.containers),
  };
}

/** How a client reaches a container port, by what listens there (well-known ports of the stack). */
const SCHEMES: Readonly<Record<number, string>> = {
  5432: 'postgres',
  6379: 'redis',
  6334: 'grpc',
  50051: 'grpc',
  9200: 'http',
  5044: 'tcp',
  11211: 'tcp',
};

export function serviceUrls(containers: readonly ContainerSummary[]): string[] {
  const out = new Set<string>();
  for (const container of containers) {
    for (const port of container.ports) {
      const host =
        port.hostIp === '' || port.hostIp === '0.0.0.0' || port.hostIp === '127.0.0.1'
          ? 'localhost'
          : port.hostIp;
      if (port.hostIp === '::') continue;
      out.add(`${SCHEMES[port.containerPort] ?? 'http'}://${host}:${port.hostPort}`);
    }
  }
  return [...out].sort();
}

export async function printSummary(
  docker: Docker,
  envName: string,
  model: EnvironmentModel,
  results: readonly WaitResult[],
  flags: StartFlags,
  ctx: CommandContext,
  elapsedMs: number,
  preflight: readonly Check[],
): Promise<void> {
  // Without waiting there are no results yet: read the state once for the table.
  const rows = results.length > 0 ? results : await currentState(docker, model);
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

async function currentState(docker: Docker, model: EnvironmentModel): Promise<WaitResult[]> {
  const containers = await projectContainers(docker, model.project);
  return model.services
    .map((service) => ({ service, containers: containers.filter((c) => c.service === service.name) }))
    .filter((entry) => entry.containers.length > 0)
    .map((entry) => ({
      service: entry.service.name,
      state: { phase: 'starting' as const, detail: 'not waited for' },
      elapsedMs: 0,
      at: Date.now(),
      containers: entry.containers,
    }));
}

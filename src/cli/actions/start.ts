import type Docker from 'dockerode';
import { EXIT, ReportedFailure, StackctlError } from '../../errors.js';
import { applyFiles } from '../../effects/apply-files.js';
import { runCompose, redactor, requireCompose, type ComposeRun } from '../../effects/compose-runner.js';
import { LaunchError, StepLauncher } from '../../effects/launcher.js';
import {
  lastHealthOutput,
  projectContainers,
  tailLogs,
  type ContainerSummary,
} from '../../effects/containers.js';
import { dockerClient, type ComposeFlavour } from '../../effects/docker.js';
import { waitForServices, type WaitResult } from '../../effects/health-waiter.js';
import { acquireLock } from '../../effects/lock.js';
import { execProbe } from '../../effects/exec-probe.js';
import { ensureDirectory, writeFileAtomic } from '../../effects/files.js';
import { stateDirectory } from '../../effects/state.js';
import { compareVersions, START_INTERVAL_API } from '../../preflight/checks.js';
import { join } from 'node:path';
import { readCompletedJobs, writeCompletedJobs, type CompletedJobs } from '../../effects/state.js';
import type { ServiceState } from '../../health/classify.js';
import { resolveEnvironment, type EnvironmentModel } from '../../model/environment.js';
import type { GpuMode } from '../../plan/gpu-layout.js';
import { composeArgs, planStart, withoutServices, type StartPlan, type StartStep } from '../../plan/start.js';
import type { StackFile } from '../../schema/types.js';
import { startProgress } from '../../ui/progress.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { prepareGeneration } from '../generation.js';
import { loadStack, requireEnvironment, type LoadedStack } from '../load-stack.js';
import { table } from '../../ui/table.js';

export const FIRST_RUN = 'first-run';

export interface StartFlags {
  yes?: boolean;
  stack: string[];
  service: string[];
  gpu?: GpuMode;
  timeout: string;
  wait: boolean;
  skipPreflight?: boolean;
  dryRun?: boolean;
  json?: boolean;
  schema?: string;
}

/**
 * What start asks of the host before anything else: where compose is and the engine's API version
 * (it decides how healthchecks run). Both are process or network round trips, so they are asked at
 * once and answered while the schema is read and files are generated.
 */
interface EngineLookup {
  readonly docker: Docker;
  readonly compose: Promise<ComposeFlavour>;
  readonly apiVersion: Promise<string | undefined>;
}

function lookUpEngine(env: NodeJS.ProcessEnv): EngineLookup {
  const docker = dockerClient(env);
  const compose = requireCompose(env);
  compose.catch(() => undefined); // awaited when compose is first needed
  const apiVersion = docker.version().then(
    (version) => version.ApiVersion,
    () => undefined,
  );
  return { docker, compose, apiVersion };
}

export async function startAction(envName: string, flags: StartFlags, ctx: CommandContext): Promise<void> {
  const engine = flags.dryRun === true ? undefined : lookUpEngine(ctx.env);
  const stack = await loadStack(flags.schema, ctx);
  if (envName === FIRST_RUN && stack.file.firstRun && !Object.hasOwn(stack.file.environments, FIRST_RUN)) {
    // The seeds' first-run flow: wipe the environment, regenerate its secrets, start it.
    const { resetAction } = await import('./reset.js');
    const { environment, regenerateSecrets } = stack.file.firstRun;
    await resetAction(
      environment,
      {
        start: true,
        yes: flags.yes,
        schema: flags.schema,
        json: flags.json,
        keepSecrets: regenerateSecrets === false,
      },
      ctx,
    );
    return;
  }
  requireEnvironment(stack.file, envName);
  const lock = flags.dryRun === true ? undefined : await acquireLock(stack.root, envName, `start ${envName}`);
  try {
    await startLocked(stack, envName, flags, ctx, engine);
  } finally {
    await lock?.release();
  }
}

async function startLocked(
  stack: LoadedStack,
  envName: string,
  flags: StartFlags,
  ctx: CommandContext,
  engine: EngineLookup | undefined,
): Promise<void> {
  const { file } = stack;
  const env = requireEnvironment(file, envName);
  for (const name of flags.stack) {
    if (!env.services.some((service) => file.services[service]?.stack === name)) {
      throw new StackctlError('E_USAGE', `${envName} runs no service of stack "${name}"`, {
        hint: `stacks of ${envName}: ${[...new Set(env.services.map((s) => file.services[s]?.stack))].join(', ')}`,
      });
    }
  }
  for (const name of flags.service) {
    if (!env.services.includes(name)) {
      throw new StackctlError('E_USAGE', `${envName} has no service "${name}"`, {
        hint: `services: ${env.services.join(', ')}`,
      });
    }
  }
  const timeoutMs = parseTimeout(flags.timeout);
  const quiet = flags.json === true;

  // 1. Preflight.
  let gpuOverride;
  if (flags.skipPreflight === true) {
    if (!quiet)
      printLine(
        ctx.stderr,
        ctx.colors.yellow(
          '⚠ preflight skipped (--skip-preflight): host problems will show up as start failures',
        ),
      );
  } else {
    // Loaded only when used: the host probes are a large part of stackctl's load time.
    const { assessHost, report } = await import('./preflight.js');
    const assessment = await assessHost(stack, envName, flags.gpu, ctx);
    if (assessment.checks.some((check) => check.status === 'fail')) {
      report(
        envName,
        assessment.checks.filter((check) => check.status !== 'pass'),
        { json: flags.json },
        ctx,
      );
    }
    gpuOverride = assessment.gpu;
  }

  // 2. Generate what is missing or stale (existing secrets are kept).
  const gpuMap = gpuOverride ? new Map([[envName, gpuOverride]]) : undefined;
  const prepared = await prepareGeneration(stack, [envName], {
    // A dry run creates secrets in memory only, so it lists every file start would write.
    createSecrets: true,
    gpuOverride: gpuMap,
  });
  const files = await applyFiles(stack.root, ctx.cwd, prepared.plan.files, {
    check: flags.dryRun === true,
    signal: ctx.signal,
  });
  const envFiles = prepared.plan.environments[0];
  if (!envFiles) throw new Error(`no files planned for ${envName}`);

  // 3. Plan the compose invocations and the waits.
  const model = resolveEnvironment(file, envName, gpuOverride ?? prepared.gpuSelection.get(envName));
  // Engines older than API 1.44 have no start_interval: drop it for them; Docker then runs each
  // healthcheck only once an interval, and stackctl's own runs see readiness early.
  const engineApi = await engine?.apiVersion;
  const legacyEngine = engineApi !== undefined && compareVersions(engineApi, START_INTERVAL_API) < 0;
  const baseArgs = composeArgs(model, stack.root, envFiles);
  if (legacyEngine) baseArgs.push('-f', await writeLegacyHealthOverride(stack.root, model));
  const plan = planStart(file, model, baseArgs, {
    stacks: flags.stack,
    services: flags.service,
  });
  if (flags.dryRun === true) {
    printDryRun(plan, files, model, ctx, flags.json === true, flags.wait);
    return;
  }

  if (!engine) throw new Error('no engine lookup outside a dry run');
  const { docker } = engine;
  const compose = await engine.compose;
  const secrets = Object.values(prepared.stores.get(envName)?.secrets ?? {}).map((entry) => entry.value);
  const redact = redactor(secrets);
  const composeEnv = composeEnvironment(ctx.env, file);
  const run = (args: readonly string[]) =>
    runCompose(compose, args, { env: composeEnv, signal: ctx.signal, redact });
  const deadline = Date.now() + timeoutMs;
  const started = Date.now();
  const results: WaitResult[] = [];
  const probe =
    ctx.env['STACKCTL_PROBE_HEALTH'] === '0'
      ? undefined
      : (id: string, command: readonly string[]) => execProbe(docker, id, command, 5000);
  const targets = plan.waits.map((wait) => ({
    ...wait,
    dockerProbeEveryMs: legacyEngine ? wait.intervalMs : wait.startIntervalMs,
  }));

  // Jobs that already completed with this exact configuration are not run again.
  const jobs = plan.waits.filter((wait) => wait.kind === 'job').map((wait) => wait.service);
  const recordedJobs: CompletedJobs = { ...(await readCompletedJobs(stack.root, envName)) };
  // Asked when a step with jobs is first prepared, not before: it is a compose run of its own.
  let jobHashes: Promise<Map<string, string>> | undefined;
  let finishedJobs: Promise<WaitResult[]> | undefined;
  const jobsDone = (): Promise<WaitResult[]> => {
    jobHashes ??= configHashes(run, baseArgs, jobs);
    finishedJobs ??= jobHashes.then(async (hashes) =>
      completedJobs(jobs, hashes, recordedJobs, await projectContainers(docker, model.project)),
    );
    return finishedJobs;
  };
  const remaining = async (step: StartStep): Promise<{ step?: StartStep; done: WaitResult[] }> => {
    if (!step.services.some((service) => jobs.includes(service))) return { step, done: [] };
    const done = (await jobsDone()).filter((result) => step.services.includes(result.service));
    const rest = withoutServices(plan, step, new Set(done.map((result) => result.service)), model);
    return { ...(rest ? { step: rest } : {}), done };
  };

  // While one stack becomes ready, the next one's containers are created (compose), so starting
  // it is only a Docker API call per container once the stack before is ready.
  let created: Promise<boolean> | undefined;
  for (const [index, planned] of plan.steps.entries()) {
    const { step, done } = await remaining(planned);
    results.push(...done);
    const precreated = created !== undefined && (await created);
    created = undefined;
    if (!step) continue;
    const services = step.services;
    const stepTargets = targets.filter((target) => services.includes(target.service));
    let launcher: StepLauncher | undefined;
    const launchFailed = new AbortController();
    if (precreated && flags.wait) {
      launcher = new StepLauncher(docker, model.project, step.after, (error) => launchFailed.abort(error));
    } else {
      const progress = quiet
        ? undefined
        : startProgress(ctx, `Starting ${step.stack}: ${services.join(', ')}`);
      const up = await run(step.args).finally(() => progress?.stop());
      if (up.exitCode !== 0) {
        if (!quiet) printLine(ctx.stderr, up.output.trimEnd());
        throw new StackctlError(
          'E_RUNTIME',
          `docker compose up failed for stack ${step.stack} (exit ${up.exitCode})`,
          {
            hint: `see the compose output above; the stack is left as it is: stackctl status ${envName}`,
          },
        );
      }
    }
    if (!flags.wait) continue;
    const next = plan.steps[index + 1];
    if (next) {
      created = remaining(next).then(
        async ({ step: nextStep }) =>
          nextStep === undefined || (await run(nextStep.createArgs)).exitCode === 0,
        () => false,
      );
    }
    const waiting = quiet
      ? undefined
      : startProgress(ctx, `Waiting for ${step.stack}: ${services.join(', ')}`);
    const stepResults = await waitForServices(docker, model.project, stepTargets, {
      deadline,
      signal: ctx.signal ? AbortSignal.any([ctx.signal, launchFailed.signal]) : launchFailed.signal,
      probe,
      ...(launcher ? { launchedAt: launcher.launchedAt } : {}),
      onChange: (service, state) => {
        launcher?.observe(service, state);
        if (quiet) return;
        const text = `${service}: ${state.detail} (${((Date.now() - started) / 1000).toFixed(1)}s)`;
        if (ctx.stderr.isTTY === true) waiting?.update(text);
        else if (state.phase !== 'starting') printLine(ctx.stderr, text);
      },
      onWaiting: (refresh) => launcher?.begin(refresh),
    })
      .catch((error: unknown) => {
        if (error instanceof LaunchError) {
          throw new StackctlError('E_RUNTIME', error.message, {
            hint: `the stack is left as it is: stackctl status ${envName}; stop it with: stackctl stop ${envName}`,
          });
        }
        throw error;
      })
      .finally(() => {
        launcher?.stop();
        waiting?.stop();
      });
    results.push(...stepResults);
    const hashes = (await jobHashes) ?? new Map<string, string>();
    let jobsChanged = false;
    for (const result of stepResults) {
      const hash = hashes.get(result.service);
      const job = result.containers.length === 1 ? result.containers[0] : undefined;
      if (hash !== undefined && result.state.phase === 'ready' && job) {
        recordedJobs[result.service] = { configHash: hash, containerId: job.id };
        jobsChanged = true;
      }
    }
    if (jobsChanged) await writeCompletedJobs(stack.root, envName, recordedJobs);
    const failure = stepResults.find((result) => result.state.phase === 'failed');
    if (failure) {
      await created;
      await explainFailure(docker, envName, failure, redact, results, flags, ctx);
      throw new ReportedFailure(EXIT.runtime);
    }
  }
  await printSummary(docker, envName, model, results, flags, ctx, Date.now() - started);
}

/** `docker compose config --hash` for these services: the configuration compose would run them with now. */
async function configHashes(
  run: (args: readonly string[]) => Promise<ComposeRun>,
  baseArgs: readonly string[],
  services: readonly string[],
): Promise<Map<string, string>> {
  const result = await run([...baseArgs, 'config', '--hash', services.join(',')]);
  if (result.exitCode !== 0) return new Map();
  return new Map(
    result.output
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((parts) => parts.length === 2)
      .map(([service, hash]) => [service ?? '', hash ?? '']),
  );
}

/**
 * Jobs of this step that finished (exit 0) in an earlier start with the configuration compose would
 * use now, in the same container: nothing to redo, so a start of a healthy stack stays a no-op.
 */
function completedJobs(
  jobs: readonly string[],
  hashes: ReadonlyMap<string, string>,
  recorded: CompletedJobs,
  containers: readonly ContainerSummary[],
): WaitResult[] {
  return jobs.flatMap((job) => {
    const mine = containers.filter((c) => c.service === job);
    const record = recorded[job];
    const only = mine.length === 1 ? mine[0] : undefined;
    const finished =
      record !== undefined &&
      record.configHash === hashes.get(job) &&
      only !== undefined &&
      only.id === record.containerId &&
      only.status === 'exited' &&
      only.exitCode === 0;
    if (!finished) return [];
    return [
      {
        service: job,
        state: { phase: 'ready' as const, detail: 'completed earlier (unchanged)' },
        elapsedMs: 0,
        containers: mine,
      },
    ];
  });
}

/** An override that removes start_interval from every healthcheck, for engines that reject it. */
async function writeLegacyHealthOverride(root: string, model: EnvironmentModel): Promise<string> {
  const lines = [
    '# Written by stackctl start for a Docker engine older than API 1.44 (no start_interval).',
    'services:',
  ];
  for (const service of model.services) {
    if (!service.definition.healthcheck) continue;
    lines.push(`  ${service.name}:`, '    healthcheck:', '      start_interval: !reset null');
  }
  const folder = join(stateDirectory(root));
  await ensureDirectory(folder, 0o755);
  const path = join(folder, `legacy-health-${model.name}.yml`);
  await writeFileAtomic(path, `${lines.join('\n')}\n`);
  return path;
}

function parseTimeout(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match)
    throw new StackctlError('E_USAGE', `--timeout "${text}" is not a duration`, {
      hint: 'write it as 90s, 10m or 1h',
    });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Number(match[1]) * unit;
}

/**
 * The environment compose runs with: the user's, minus every variable the schema declares and the
 * COMPOSE_* settings, so the generated env file is the only source of values (a stray exported
 * POSTGRES_PORT in a shell must not silently win).
 */
export function composeEnvironment(env: NodeJS.ProcessEnv, file: StackFile): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (Object.hasOwn(file.variables, name)) continue;
    if (['COMPOSE_PROJECT_NAME', 'COMPOSE_PROFILES', 'COMPOSE_FILE', 'COMPOSE_ENV_FILES'].includes(name))
      continue;
    out[name] = value;
  }
  return out;
}

function printDryRun(
  plan: StartPlan,
  files: readonly { path: string; status: string }[],
  model: EnvironmentModel,
  ctx: CommandContext,
  json: boolean,
  wait: boolean,
): void {
  const changed = files.filter((file) => file.status !== 'unchanged');
  if (json) {
    printJson(ctx.stdout, {
      environment: model.name,
      project: model.project,
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
      waits: plan.waits.map((wait) => ({
        service: wait.service,
        kind: wait.kind,
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
  printLine(ctx.stdout, '  then wait for:');
  for (const wait of plan.waits) {
    printLine(
      ctx.stdout,
      `    ${wait.service.padEnd(20)} up to ${Math.round(wait.budgetMs / 1000)}s  (${wait.budgetReason})`,
    );
  }
}

async function explainFailure(
  docker: Docker,
  envName: string,
  failure: WaitResult,
  redact: (text: string) => string,
  results: readonly WaitResult[],
  flags: StartFlags,
  ctx: CommandContext,
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
    readyAfterSeconds: result.state.phase === 'ready' ? Number((result.elapsedMs / 1000).toFixed(1)) : null,
    urls: urls(result.containers),
  };
}

function urls(containers: readonly ContainerSummary[]): string[] {
  const out = new Set<string>();
  for (const container of containers) {
    for (const port of container.ports) {
      const host =
        port.hostIp === '' || port.hostIp === '0.0.0.0' || port.hostIp === '127.0.0.1'
          ? 'localhost'
          : port.hostIp;
      if (port.hostIp === '::') continue;
      out.add(`http://${host}:${port.hostPort}`);
    }
  }
  return [...out].sort();
}

async function printSummary(
  docker: Docker,
  envName: string,
  model: EnvironmentModel,
  results: readonly WaitResult[],
  flags: StartFlags,
  ctx: CommandContext,
  elapsedMs: number,
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
          urls(row.containers).join(' ') || '-',
        ];
      }),
    ],
    ctx.colors.bold,
  );
  for (const line of lines) printLine(ctx.stdout, line);
  printLine(ctx.stdout, '');
  const verb = flags.wait ? 'is up and healthy' : 'was started (not waited for)';
  printLine(ctx.stdout, ctx.colors.green(`✔ ${envName} ${verb} in ${(elapsedMs / 1000).toFixed(1)}s`));
  printLine(ctx.stdout, `  status:  stackctl status ${envName}`);
  printLine(ctx.stdout, `  logs:    stackctl logs ${envName} SERVICE -f`);
  printLine(ctx.stdout, `  stop:    stackctl stop ${envName}`);
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
      containers: entry.containers,
    }));
}

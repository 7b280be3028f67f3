// Start, as the steps it takes: resolve the request, check the host, generate the files, plan the
// graph, launch it and wait, confirm it stays up. Each step hands the next what it found; what a
// person sees goes through the StartView the caller gives (the CLI prints, tests record).
import { StackctlError } from '../errors.js';
import { applyFiles, type FileResult } from '../effects/apply-files.js';
import { readComposeConfig, runCompose, type ComposeRun } from '../effects/compose-runner.js';
import type Docker from 'dockerode';
import {
  lastHealthOutput,
  listServiceContainers,
  projectContainers,
  tailLogs,
} from '../effects/containers.js';
import { acquireLock } from '../effects/lock.js';
import {
  prefetchAnswers,
  recordComposeInvocation,
  takePrefetchedConfig,
} from '../effects/config-prefetch.js';
import { dockerCliEnvironment, findCompose } from '../effects/docker.js';
import { environmentServices } from '../effects/swarm.js';
import { confirmStable, type WaitResult } from '../effects/health-waiter.js';
import type { LoadedStack } from '../model/stack.js';
import { readSecretHistory } from '../effects/secret-store.js';
import { recordValidSchema } from '../effects/state.js';
import { redactor } from '../generate/redact.js';
import type { EnvironmentModel, GpuSelection } from '../model/environment.js';
import { parseEffectiveConfig } from '../plan/effective.js';
import { servicesLeftDown } from '../plan/left-down.js';
import { configDigest } from '../plan/reuse.js';
import { describeGpuDecision, type GpuDecision } from '../plan/gpu-choice.js';
import { composeArgs, planStart, type StartPlan } from '../plan/start.js';
import { assessHost } from './preflight.js';
import { compareVersions, START_INTERVAL_API, type Check } from '../preflight/checks.js';
import type { EnvironmentDef, StackFile } from '../schema/types.js';
import { prepareGeneration, type PreparedGeneration } from './generation.js';
import { refreshStateMetrics } from './state-metrics.js';
import { composeEnvironment, effectiveReader } from './effective-config.js';
export { composeEnvironment } from './effective-config.js';
import { chooseRunGpu } from './gpu-choice.js';
import { pullBeforeStart } from './start-model.js';
import { resolveRun, type ResolvedRun } from './run.js';
import { launchGraph } from './launch-graph.js';
import { interruptedStart, StackTracker } from './start-tracker.js';
import { createCacheFoldersOf, recreateStranded, writeLegacyHealthOverride } from './start-repairs.js';
import {
  lookUpEngine,
  type EngineLookup,
  type FailureDiagnosis,
  type PlannedLaunch,
  type StartCounts,
  type StartIo,
  type StartOutcome,
  type StartRequest,
  type StartView,
} from './start-types.js';

export { lookUpEngine, createCacheFoldersOf };
export type { EngineLookup, PlannedLaunch, StartCounts, StartIo, StartOutcome, StartRequest, StartView };

export async function startEnvironment(
  stack: LoadedStack,
  request: StartRequest,
  engine: EngineLookup | undefined,
  io: StartIo,
  view: StartView,
): Promise<StartOutcome> {
  return withStartLock(stack, request, `start ${request.envName}`, () =>
    startLocked(stack, request, engine, io, view),
  );
}

/** Runs a start under the environment's lock, unless it changes nothing or the caller holds it. */
export async function withStartLock<T>(
  stack: LoadedStack,
  request: StartRequest,
  holder: string,
  run: () => Promise<T>,
): Promise<T> {
  const lock =
    request.dryRun || request.lockHeld === true
      ? undefined
      : await acquireLock(stack.root, request.envName, holder);
  try {
    return await run();
  } finally {
    await lock?.release();
  }
}

async function startLocked(
  stack: LoadedStack,
  request: StartRequest,
  engine: EngineLookup | undefined,
  io: StartIo,
  view: StartView,
): Promise<StartOutcome> {
  resolveRequest(stack.file, request);
  if (request.preflight === 'skip') view.skippedPreflight();
  // The environment's state is read once, under the lock; every step below takes it.
  const run = await resolveRun(stack, request);
  // The files are planned first (in memory) with the GPU layout preflight will most likely choose:
  // when the files on disk already are these, compose's configuration is read while the host is
  // checked (preflight judges it), and used once preflight has chosen that same layout.
  const guess = run.likelyGpu.selection;
  const early = await prepare(run, guess);
  const ahead = engine && !request.dryRun ? await readConfigAhead(run, early, guess, engine, io) : undefined;
  const readEffective = ahead ? () => ahead.config : effectiveReader(stack, io);
  const host = await checkHost(run, request, io, view, readEffective);
  if (host.failed && !request.dryRun) return { kind: 'preflight-failed', findings: host.findings };
  const asGuessed = sameSelection(host.gpu.selection, guess);
  const generated = await writeFiles(
    stack,
    request,
    asGuessed ? early : await prepare(run, host.gpu.selection),
    io,
  );
  const model = run.model(host.gpu.selection);
  if (!request.dryRun) await createCacheFoldersOf(stack.root, model, view);
  const planned = await planLaunch(
    stack,
    model,
    generated,
    request,
    engine,
    io,
    asGuessed ? ahead : undefined,
  );
  if (request.dryRun || !engine) {
    return { kind: 'planned', plan: planned.plan, files: generated.files, model, findings: host.findings };
  }
  const launched = planned.plan.graph.map((node) => node.service);
  await pullBeforeStart(run, model, launched, readEffective, io, view);
  return launchAndWait(stack, model, planned, generated.prepared, request, engine, io, view, host.findings);
}

function sameSelection(a: GpuSelection | undefined, b: GpuSelection | undefined): boolean {
  const key = (selection: GpuSelection | undefined): string =>
    selection === undefined
      ? ''
      : JSON.stringify([selection.profile, Object.entries(selection.variables).sort()]);
  return key(a) === key(b);
}

/** compose's configuration, read ahead from the files on disk, and the arguments it was read with. */
interface ConfigAhead {
  readonly args: readonly string[];
  readonly config: Promise<unknown>;
}

/** Starts reading compose's configuration when the files on disk are the ones just planned. */
async function readConfigAhead(
  run: ResolvedRun,
  prepared: PreparedGeneration,
  gpu: GpuSelection | undefined,
  engine: EngineLookup,
  io: StartIo,
): Promise<ConfigAhead | undefined> {
  const { stack, envName } = run;
  const checked = await applyFiles(stack.root, io.cwd, prepared.plan.files, {
    check: true,
    signal: io.signal,
  });
  const envFiles = prepared.plan.environments[0];
  if (!envFiles || checked.some((file) => file.status !== 'unchanged')) return undefined;
  const model = run.model(gpu ?? prepared.gpuSelection.get(envName));
  const args = await composeArgsFor(stack, model, envFiles, engine);
  const env = composeEnvironment(io.env, stack.file);
  const prefetched = takePrefetchedConfig(stack.root, envName);
  const config = engine.compose.then((compose) => {
    const readConfig = (): Promise<unknown> =>
      readComposeConfig(compose, args, {
        env,
        signal: io.signal,
        redact: redactor(secretValues(prepared, envName)),
      });
    if (prefetched && prefetchAnswers(prefetched, compose.command, args, dockerCliEnvironment(env)))
      return prefetched.document.catch(readConfig);
    prefetched?.discard();
    return readConfig();
  });
  config.catch(() => undefined); // read again on the normal path if it failed
  return { args, config };
}

/** The compose arguments for an environment, with the override that old engines need. */
export async function composeArgsFor(
  stack: LoadedStack,
  model: EnvironmentModel,
  envFiles: Generated['envFiles'],
  engine: EngineLookup | undefined,
): Promise<string[]> {
  // Engines older than API 1.44 have no start_interval: drop it for them; Docker then runs each
  // healthcheck only once an interval, and stackctl's own runs see readiness early.
  const args = composeArgs(model, stack.root, envFiles);
  if (await isLegacyEngine(engine)) args.push('-f', await writeLegacyHealthOverride(stack.root, model));
  return args;
}

/** An engine older than API 1.44: it has no start_interval. */
async function isLegacyEngine(engine: EngineLookup | undefined): Promise<boolean> {
  const engineApi = await engine?.apiVersion;
  return engineApi !== undefined && compareVersions(engineApi, START_INTERVAL_API) < 0;
}

export function secretValues(prepared: PreparedGeneration, envName: string): string[] {
  return Object.values(prepared.stores.get(envName)?.secrets ?? {}).map((entry) => entry.value);
}

/** Step 1: the environment, and the --stack and --service names checked against it. */
export function resolveRequest(file: StackFile, request: StartRequest): EnvironmentDef {
  const { envName } = request;
  const env = file.environments[envName];
  if (!env) throw new Error(`no environment ${envName}`);
  for (const name of request.stacks) {
    if (!env.services.some((service) => file.services[service]?.stack === name)) {
      throw new StackctlError('E_USAGE', `${envName} runs no service of stack "${name}"`, {
        hint: `stacks of ${envName}: ${[...new Set(env.services.map((s) => file.services[s]?.stack))].join(', ')}`,
      });
    }
  }
  for (const name of request.services) {
    if (!env.services.includes(name)) {
      throw new StackctlError('E_USAGE', `${envName} has no service "${name}"`, {
        hint: `services: ${env.services.join(', ')}`,
      });
    }
  }
  return env;
}

/**
 * Step 2: preflight, and the GPU layout of the run. Warnings are shown and start goes on; failures
 * stop it (a dry run still shows its plan, as it would run once they are fixed). Without preflight
 * the layout is decided all the same: --gpu applies on every path.
 */
export async function checkHost(
  run: ResolvedRun,
  request: StartRequest,
  io: StartIo,
  view: StartView,
  readEffective?: (model: EnvironmentModel) => Promise<unknown>,
): Promise<{ findings: readonly Check[]; failed: boolean; gpu: GpuDecision }> {
  if (request.preflight !== 'run') {
    const gpu = await chooseRunGpu(run, io);
    view.note(describeGpuDecision(gpu));
    return { findings: [], failed: false, gpu };
  }
  // Start generates the environment's config files right after: missing ones are no failure.
  const assessment = await assessHost(run, io, {
    generatesFiles: true,
    ...(request.skipChecks ? { skipChecks: request.skipChecks } : {}),
    readEffective: readEffective ?? effectiveReader(run.stack, io),
  });
  const findings = assessment.checks.filter((check) => check.status !== 'pass');
  const failed = findings.some((check) => check.status === 'fail');
  view.preflight(findings, failed);
  if (!failed) view.note(describeGpuDecision(assessment.gpu));
  return { findings, failed, gpu: assessment.gpu };
}

export interface Generated {
  readonly prepared: PreparedGeneration;
  readonly files: readonly FileResult[];
  readonly envFiles: PreparedGeneration['plan']['environments'][number];
  readonly gpu: GpuSelection | undefined;
}

/** Step 3: the files planned in memory (existing secrets are kept, missing ones made). */
export async function prepare(run: ResolvedRun, gpu: GpuSelection | undefined): Promise<PreparedGeneration> {
  const { stack, envName, store } = run;
  return prepareGeneration(stack, [envName], {
    // A dry run creates secrets in memory only, so it lists every file start would write.
    createSecrets: true,
    ...(store ? { replaceStores: new Map([[envName, store]]) } : {}),
    gpuOverride: gpu ? new Map([[envName, gpu]]) : undefined,
  });
}

/** Step 3, continued: what is missing or stale is written (a dry run writes nothing). */
export async function writeFiles(
  stack: LoadedStack,
  request: StartRequest,
  prepared: PreparedGeneration,
  io: StartIo,
): Promise<Generated> {
  const { envName } = request;
  const files = await applyFiles(stack.root, io.cwd, prepared.plan.files, {
    check: request.dryRun,
    signal: io.signal,
  });
  const envFiles = prepared.plan.environments[0];
  if (!envFiles) throw new Error(`no files planned for ${envName}`);
  // What runs is made from it: status, stop and logs fall back to it while the schema is mid-edit.
  if (!request.dryRun) {
    await recordValidSchema(stack.root, stack.schemaText, stack.file);
    await refreshStateMetrics(stack, envName, prepared.stores.get(envName));
  }
  return { prepared, files, envFiles, gpu: prepared.gpuSelection.get(envName) };
}

/** Step 4: the graph, from what compose will really run (the user's overlay included). */
async function planLaunch(
  stack: LoadedStack,
  model: EnvironmentModel,
  generated: Generated,
  request: StartRequest,
  engine: EngineLookup | undefined,
  io: StartIo,
  ahead: ConfigAhead | undefined,
): Promise<PlannedLaunch> {
  const legacyEngine = await isLegacyEngine(engine);
  const baseArgs = await composeArgsFor(stack, model, generated.envFiles, engine);
  // Old values too: containers from before a rotation still print them.
  const redact = redactor([
    ...secretValues(generated.prepared, request.envName),
    ...(await readSecretHistory(stack.root, request.envName)),
  ]);
  const composeEnv = composeEnvironment(io.env, stack.file);
  // A dry run reads compose's configuration only when the files on disk are the ones start would use.
  const filesCurrent = generated.files.every((result) => result.status === 'unchanged');
  const readAhead =
    ahead && filesCurrent && ahead.args.join('\0') === baseArgs.join('\0')
      ? await ahead.config.catch(() => undefined)
      : undefined;
  const compose = engine ? await engine.compose : filesCurrent ? await findCompose(io.env) : null;
  const document =
    readAhead !== undefined
      ? readAhead
      : compose
        ? await readComposeConfig(compose, baseArgs, { env: composeEnv, signal: io.signal, redact })
        : undefined;
  const effective = document === undefined ? undefined : parseEffectiveConfig(document);
  let plan: StartPlan;
  try {
    plan = planStart(
      stack.file,
      model,
      baseArgs,
      { stacks: request.stacks, services: request.services },
      effective,
    );
  } catch (error) {
    throw new StackctlError('E_SCHEMA', `${model.name} cannot start: ${(error as Error).message}`, {
      hint: `remove one of those depends_on, or the stack dependency, in ${stack.schemaPath}`,
    });
  }
  const creation =
    document !== undefined && effective !== undefined && compose
      ? { configDigest: configDigest(document), composeVersion: compose.version, effective }
      : undefined;
  return { plan, legacyEngine, composeEnv, redact, ...(creation ? { creation } : {}) };
}

/** Steps 5 and 6: create, launch the graph and wait; then confirm every service stays up. */
async function launchAndWait(
  stack: LoadedStack,
  model: EnvironmentModel,
  planned: PlannedLaunch,
  prepared: PreparedGeneration,
  request: StartRequest,
  engine: EngineLookup,
  io: StartIo,
  view: StartView,
  findings: readonly Check[],
): Promise<StartOutcome> {
  const { plan, redact } = planned;
  const { docker } = engine;
  const compose = await engine.compose;
  const run = (args: readonly string[]): Promise<ComposeRun> =>
    runCompose(compose, args, {
      env: planned.composeEnv,
      signal: io.signal,
      redact,
      onLine: (line: string) => {
        if (isTransferLine(line)) view.transfer(line.trim());
      },
    });
  const upOrFail = async (args: readonly string[], what: string): Promise<void> => {
    const result = await run(args);
    if (result.exitCode === 0) return;
    view.composeOutput(result.output.trimEnd());
    throw new StackctlError('E_RUNTIME', `docker compose up failed for ${what} (exit ${result.exitCode})`, {
      hint: `see the compose output above; the stack is left as it is: stackctl status ${model.name}`,
    });
  };
  await refuseIfOnSwarm(docker, stack, model);
  await recordComposeInvocation(stack.root, model.name, {
    command: compose.command,
    args: plan.baseArgs,
    withheld: Object.keys(stack.file.variables),
  });
  const before = await listServiceContainers(docker, model.project);
  await recreateStranded(docker, model.project, plan.baseArgs, run, view);
  const started = Date.now();
  const finished = async (
    kind: 'started' | 'failed',
    results: readonly WaitResult[],
    failure?: WaitResult,
  ): Promise<StartOutcome> => {
    const elapsedMs = Date.now() - started;
    const leftDown =
      failure?.state.phase === 'failed'
        ? servicesLeftDown(
            plan.graph,
            before,
            await listServiceContainers(docker, model.project),
            { service: failure.service, reason: failure.state.reason },
            new Set(results.filter((r) => r.state.phase === 'ready').map((r) => r.service)),
          )
        : [];
    return {
      kind,
      model,
      // Without waiting there are no results yet: the state is read once for the report.
      results: kind === 'started' && results.length === 0 ? await currentState(docker, model) : results,
      ...(failure ? { failure, diagnosis: await diagnose(docker, failure, redact) } : {}),
      elapsedMs,
      findings,
      waited: request.wait,
      ...(leftDown.length > 0 ? { leftDown } : {}),
    };
  };

  if (!request.wait) {
    const progress = view.progress(`Starting ${model.name}: ${plan.graph.map((n) => n.service).join(', ')}`);
    await upOrFail(plan.upArgs, model.name).finally(() => progress?.stop());
    return finished('started', []);
  }

  const tracker = new StackTracker(plan, started);
  let results: WaitResult[];
  try {
    results = await launchGraph({
      stack,
      model,
      planned,
      prepared,
      request,
      docker,
      upOrFail,
      io,
      view,
      tracker,
    });
  } catch (error) {
    if (io.signal.aborted) throw interruptedStart(model.name, tracker);
    throw error;
  }
  const failure = results.find((result) => result.state.phase === 'failed');
  if (failure) return finished('failed', results, failure);
  if (request.settleMs > 0) {
    const settling = view.progress('Checking that every service stays up');
    const stable = await confirmStable(docker, model.project, results, {
      stableMs: request.settleMs,
      isJob: (service) => plan.waits.find((wait) => wait.service === service)?.kind === 'job',
      signal: io.signal,
    })
      .catch((error: unknown) => {
        if (!io.signal.aborted) throw error;
        throw new StackctlError(
          'E_INTERRUPTED',
          `start of ${model.name} interrupted while checking that every service stays up: all ${results.length} were ready and are left running`,
          {
            hint: `see them with: stackctl status ${model.name}; stop them with: stackctl stop ${model.name}`,
          },
        );
      })
      .finally(() => settling?.stop());
    const crashed = stable.find((result) => result.state.phase === 'failed');
    return crashed ? finished('failed', stable, crashed) : finished('started', stable);
  }
  return finished('started', results);
}

/** Compose's pull and build lines, the ones worth showing while a first start downloads. */
function isTransferLine(line: string): boolean {
  return /\b(pull|pulling|pulled|download|downloading|extracting|build|building|built)\b|^#\d+ /i.test(line);
}

/** The failed service's container to look at (one not running or unhealthy), and what it said last. */
async function diagnose(
  docker: Docker,
  failure: WaitResult,
  redact: (text: string) => string,
): Promise<FailureDiagnosis> {
  const container =
    failure.containers.find((c) => c.status !== 'running' || c.health === 'unhealthy') ??
    failure.containers[0];
  const health = container ? await lastHealthOutput(docker, container.id) : undefined;
  return {
    container: container?.name,
    lastHealthcheck: health === undefined ? undefined : redact(health),
    logs: container ? (await tailLogs(docker, container.id, 20)).map(redact) : [],
  };
}

/** What Docker says of each service right now (a start not waited for). */
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

/** An environment deployed on the swarm is started there, never a second time by compose. */
async function refuseIfOnSwarm(docker: Docker, stack: LoadedStack, model: EnvironmentModel): Promise<void> {
  const onSwarm = await environmentServices(docker, stack.file.project.name, model.name).catch(() => []);
  if (onSwarm.length > 0)
    throw new StackctlError(
      'E_REFUSED',
      `${model.name} is deployed on the swarm (${onSwarm.length} services)`,
      {
        hint: `start it there (stackctl start ${model.name} --swarm), or remove the stack, volumes kept (docker stack rm ${model.project})`,
      },
    );
}

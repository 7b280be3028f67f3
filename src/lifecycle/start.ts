// Start, as the steps it takes: resolve the request, check the host, generate the files, plan the
// graph, launch it and wait, confirm it stays up. Each step hands the next what it found; what a
// person sees goes through the StartView the caller gives (the CLI prints, tests record).
import type Docker from 'dockerode';
import { join } from 'node:path';
import { StackctlError } from '../errors.js';
import { applyFiles, type FileResult } from '../effects/apply-files.js';
import { readComposeConfig, requireCompose, runCompose, type ComposeRun } from '../effects/compose-runner.js';
import {
  containersOnMissingNetworks,
  inspectContainer,
  listServiceContainers,
  startableContainers,
  startContainers,
} from '../effects/containers.js';
import {
  prefetchAnswers,
  recordComposeInvocation,
  takePrefetchedConfig,
} from '../effects/config-prefetch.js';
import { dockerClient, dockerCliEnvironment, findCompose, type ComposeFlavour } from '../effects/docker.js';
import { execProbeLoop } from '../effects/exec-probe.js';
import { createCacheFolders } from '../effects/probe/host.js';
import { hostPathsOf } from '../model/host-paths.js';
import { environmentServices } from '../effects/swarm.js';
import { ensureDirectory, writeFileAtomic } from '../effects/files.js';
import { confirmStable, waitForServices, type WaitResult } from '../effects/health-waiter.js';
import {
  applyInService,
  credentialOpens,
  liveRotation,
  readPendingRotations,
  runningContainer,
  writePendingRotations,
} from '../effects/rotation.js';
import type { LoadedStack } from '../effects/schema-file.js';
import { readSecretHistory } from '../effects/secret-store.js';
import { recordValidSchema, stateDirectory } from '../effects/state.js';
import { redactor } from '../generate/redact.js';
import type { ServiceState } from '../health/classify.js';
import { resolveEnvironment, type EnvironmentModel, type GpuSelection } from '../model/environment.js';
import { parseEffectiveConfig } from '../plan/effective.js';
import { servicesLeftDown, type LeftDown } from '../plan/left-down.js';
import { configDigest } from '../plan/reuse.js';
import { decideGpu, describeGpuDecision, type GpuDecision } from '../plan/gpu-choice.js';
import type { GpuMode } from '../plan/gpu-layout.js';
import { composeArgs, planStart, type CreateStep, type StartPlan } from '../plan/start.js';
import { assessHost } from './preflight.js';
import { compareVersions, START_INTERVAL_API, type Check } from '../preflight/checks.js';
import { interpolate } from '../schema/interpolate.js';
import type { EnvironmentDef, StackFile } from '../schema/types.js';

type Redact = (text: string) => string;
import type { Progress } from '../ui/progress.js';
import type { UiContext } from '../ui/terminal.js';
import { prepareGeneration, type PreparedGeneration } from './generation.js';
import { CreationLedger, type CreationBasis } from './creation.js';
import { JobLedger } from './jobs.js';
import { GraphLauncher } from './launcher.js';
import { composeEnvironment, effectiveReader } from './effective-config.js';
export { composeEnvironment } from './effective-config.js';
import { chooseRunGpu, gpuChoiceInput } from './gpu-choice.js';

/** How long one direct healthcheck loop runs inside a container before the next one starts. */
const PROBE_WINDOW_MS = 3000;

export interface StartRequest {
  readonly envName: string;
  readonly stacks: readonly string[];
  readonly services: readonly string[];
  readonly gpu?: GpuMode;
  readonly timeoutMs: number;
  /** How long every service must stay ready after the last one became ready. */
  readonly settleMs: number;
  readonly wait: boolean;
  /** run: check the host first; skip: the user said not to; caller: the calling command checked. */
  readonly preflight: 'run' | 'skip' | 'caller';
  /** Preflight checks not to run (their ids, as `preflight --json` prints them). */
  readonly skipChecks?: readonly string[];
  readonly dryRun: boolean;
}

/** What a person sees while start runs; the caller decides how (spinners, lines, or nothing). */
export interface StartView {
  /** Non-passing preflight checks; `failed` when one of them stops the start. */
  preflight(findings: readonly Check[], failed: boolean): void;
  /** Something that takes a while: a spinner or a line, or undefined when nothing is shown. */
  progress(text: string): Progress | undefined;
  /**
   * The launch of the graph, from the first create to the last ready service: the view reads the
   * counts whenever it redraws (a spinner shows the phase, what is pending and the time so far).
   */
  launching(counts: () => StartCounts): Progress | undefined;
  /** A service changed state while waiting. */
  serviceChanged(service: string, state: ServiceState, progress: StartCounts): void;
  /** Every selected service of a stack is ready. */
  stackReady(stack: string, progress: StartCounts): void;
  /** A line worth a person's attention (a repair, an applied rotation). */
  note(text: string): void;
  /** A line of compose's about pulling or building images (a first start pulls many GB). */
  transfer(line: string): void;
  /** Output of a compose run that failed. */
  composeOutput(text: string): void;
}

export interface StartCounts {
  readonly ready: number;
  readonly total: number;
  readonly elapsedMs: number;
  /** Stacks with a service launched but not every service ready. */
  readonly starting: readonly string[];
  /** creating: compose is creating (or recreating) containers; starting: services are being launched; waiting: all launched, some not ready. */
  readonly phase: 'creating' | 'starting' | 'waiting';
  /** The services compose is creating now (phase creating). */
  readonly creating: readonly string[];
  /** Services not ready yet, in graph order. */
  readonly pending: readonly string[];
}

export interface StartIo extends UiContext {
  readonly cwd: string;
}

/** Everything start found, for the caller to report. */
export type StartOutcome =
  | {
      readonly kind: 'planned';
      readonly plan: StartPlan;
      readonly files: readonly FileResult[];
      readonly model: EnvironmentModel;
      readonly findings: readonly Check[];
    }
  | { readonly kind: 'preflight-failed'; readonly findings: readonly Check[] }
  | {
      readonly kind: 'started' | 'failed';
      readonly model: EnvironmentModel;
      readonly docker: Docker;
      readonly redact: Redact;
      readonly results: readonly WaitResult[];
      /** The service that failed (kind failed). */
      readonly failure?: WaitResult;
      readonly elapsedMs: number;
      readonly findings: readonly Check[];
      readonly waited: boolean;
      /** Services that ran before this start and do not run after it (a failed start). */
      readonly leftDown?: readonly LeftDown[];
    };

/**
 * What start asks of the host before anything else: where compose is and the engine's API version
 * (it decides how healthchecks run). Both are process or network round trips, so they are asked at
 * once and answered while the schema is read and files are generated.
 */
export interface EngineLookup {
  readonly docker: Docker;
  readonly compose: Promise<ComposeFlavour>;
  readonly apiVersion: Promise<string | undefined>;
}

export function lookUpEngine(env: NodeJS.ProcessEnv): EngineLookup {
  const docker = dockerClient(env);
  const compose = requireCompose(env);
  compose.catch(() => undefined); // awaited when compose is first needed
  const apiVersion = docker.version().then(
    (version) => version.ApiVersion,
    () => undefined,
  );
  return { docker, compose, apiVersion };
}

export async function startEnvironment(
  stack: LoadedStack,
  request: StartRequest,
  engine: EngineLookup | undefined,
  io: StartIo,
  view: StartView,
): Promise<StartOutcome> {
  resolveRequest(stack.file, request);
  // The files are planned first (in memory) with the GPU layout preflight will most likely choose:
  // when the files on disk already are these, compose's configuration is read while the host is
  // checked (preflight judges it), and used once preflight has chosen that same layout.
  const guess = await likelyGpu(stack, request);
  const early = await prepare(stack, request, guess);
  const ahead =
    engine && !request.dryRun ? await readConfigAhead(stack, request, early, guess, engine, io) : undefined;
  const readEffective = ahead ? () => ahead.config : effectiveReader(stack, io);
  const host = await checkHost(stack, request, io, view, readEffective);
  if (host.failed && !request.dryRun) return { kind: 'preflight-failed', findings: host.findings };
  const asGuessed = sameSelection(host.gpu.selection, guess);
  const generated = await writeFiles(
    stack,
    request,
    asGuessed ? early : await prepare(stack, request, host.gpu.selection),
    io,
  );
  const model = resolveEnvironment(stack.file, request.envName, host.gpu.selection);
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
  return launchAndWait(stack, model, planned, generated.prepared, request, engine, io, view, host.findings);
}

/**
 * The GPU layout the run will most likely use, decided without asking the host: exact for --gpu
 * cpu, a recorded choice and an environment that does not require GPUs.
 */
export async function likelyGpu(stack: LoadedStack, request: StartRequest): Promise<GpuSelection> {
  const { input } = await gpuChoiceInput(stack, request.envName, request.gpu);
  return decideGpu({ ...input, detection: { ok: false, why: 'not asked yet' } }).selection;
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
  stack: LoadedStack,
  request: StartRequest,
  prepared: PreparedGeneration,
  gpu: GpuSelection | undefined,
  engine: EngineLookup,
  io: StartIo,
): Promise<ConfigAhead | undefined> {
  const checked = await applyFiles(stack.root, io.cwd, prepared.plan.files, {
    check: true,
    signal: io.signal,
  });
  const envFiles = prepared.plan.environments[0];
  if (!envFiles || checked.some((file) => file.status !== 'unchanged')) return undefined;
  const model = resolveEnvironment(
    stack.file,
    request.envName,
    gpu ?? prepared.gpuSelection.get(request.envName),
  );
  const args = await composeArgsFor(stack, model, envFiles, engine);
  const env = composeEnvironment(io.env, stack.file);
  const prefetched = takePrefetchedConfig(stack.root, request.envName);
  const config = engine.compose.then((compose) => {
    const readConfig = (): Promise<unknown> =>
      readComposeConfig(compose, args, {
        env,
        signal: io.signal,
        redact: redactor(secretValues(prepared, request.envName)),
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
  stack: LoadedStack,
  request: StartRequest,
  io: StartIo,
  view: StartView,
  readEffective?: (model: EnvironmentModel) => Promise<unknown>,
): Promise<{ findings: readonly Check[]; failed: boolean; gpu: GpuDecision }> {
  if (request.preflight !== 'run') {
    const gpu = await chooseRunGpu(stack, request.envName, request.gpu, io);
    view.note(describeGpuDecision(gpu));
    return { findings: [], failed: false, gpu };
  }
  // Start generates the environment's config files right after: missing ones are no failure.
  const assessment = await assessHost(stack, request.envName, request.gpu, io, {
    generatesFiles: true,
    ...(request.skipChecks ? { skipChecks: request.skipChecks } : {}),
    readEffective: readEffective ?? effectiveReader(stack, io),
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
export async function prepare(
  stack: LoadedStack,
  request: StartRequest,
  gpu: GpuSelection | undefined,
): Promise<PreparedGeneration> {
  return prepareGeneration(stack, [request.envName], {
    // A dry run creates secrets in memory only, so it lists every file start would write.
    createSecrets: true,
    gpuOverride: gpu ? new Map([[request.envName, gpu]]) : undefined,
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
  if (!request.dryRun) await recordValidSchema(stack.root, stack.schemaText, stack.file);
  return { prepared, files, envFiles, gpu: prepared.gpuSelection.get(envName) };
}

interface PlannedLaunch {
  readonly plan: StartPlan;
  readonly legacyEngine: boolean;
  readonly composeEnv: NodeJS.ProcessEnv;
  readonly redact: Redact;
  /** What compose resolved, when it was asked (create steps with nothing to do are skipped). */
  readonly creation?: CreationBasis;
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
  const onSwarm = await environmentServices(docker, stack.file.project.name, model.name).catch(() => []);
  if (onSwarm.length > 0)
    throw new StackctlError(
      'E_REFUSED',
      `${model.name} is deployed on the swarm (${onSwarm.length} services)`,
      {
        hint: `start it there (stackctl start ${model.name} --swarm), or remove the stack, volumes kept (docker stack rm ${model.project})`,
      },
    );
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
      docker,
      redact,
      results,
      ...(failure ? { failure } : {}),
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

/**
 * Creates the containers (the first group, then the rest while the first start) and walks the graph:
 * each service starts through the Docker API the moment what it waits for is met, and the waiter
 * watches every service at once. Returns a result per service; waiting stops at the first failure.
 */
/** What walking the graph works with: the start so far, and how to reach compose and Docker. */
interface GraphRun {
  readonly stack: LoadedStack;
  readonly model: EnvironmentModel;
  readonly planned: PlannedLaunch;
  readonly prepared: PreparedGeneration;
  readonly request: StartRequest;
  readonly docker: Docker;
  /** Runs a compose up and fails the start with compose's output when it fails. */
  readonly upOrFail: (args: readonly string[], what: string) => Promise<void>;
  readonly io: StartIo;
  readonly view: StartView;
  readonly tracker: StackTracker;
}

async function launchGraph(graphRun: GraphRun): Promise<WaitResult[]> {
  const { stack, model, planned, prepared, request, docker, upOrFail, io, view, tracker } = graphRun;
  const { plan } = planned;
  const jobs = await JobLedger.open(stack.root, model.name, plan, async (id) => {
    const container = await inspectContainer(docker, id);
    return container?.status === 'exited' ? container.exitCode : undefined;
  });
  const creations = await CreationLedger.open(
    stack.root,
    model.name,
    docker,
    model.project,
    planned.creation,
  );
  const rotations = new PendingRotations(stack.root, stack.file, model, prepared, docker, io, view);
  await rotations.load();
  const launchFailed = new AbortController();
  const launcher = new GraphLauncher(plan.graph, {
    start: (service) => {
      tracker.launched(service);
      return startContainers(docker, service, startable.get(service) ?? []);
    },
    whenReady: async (service) => {
      await rotations.applyFor(service);
      rotations.checkFor(service, (error) => launchFailed.abort(error));
    },
    onError: (error) => launchFailed.abort(error),
  });
  const since = Date.now();
  const startable = new Map<string, string[]>();
  // Jobs that completed earlier in the container compose kept are not run again.
  const doneEarlier = new Set<string>();
  const create = async (step: CreateStep): Promise<void> => {
    tracker.created(step.services);
    let listed = await creations.unchanged(step);
    if (listed === undefined) {
      tracker.creating(step.services);
      await upOrFail(step.args, model.name).finally(() => tracker.creating([]));
      listed = await listServiceContainers(docker, model.project);
      await creations.ran(step, listed);
    }
    // Listed once per step: starting a service is then one API call per container.
    for (const [service, ids] of startableContainers(listed)) startable.set(service, ids);
    const done = await jobs.completedAmong(step.services, listed);
    for (const job of done) doneEarlier.add(job);
    launcher.markDone(done);
    launcher.markCreated(step.services);
  };
  // The waiter opens Docker's event stream while the first containers are created; launches wait
  // for the containers either way (markCreated).
  const [firstStep, ...laterSteps] = plan.create;
  const launching = view.launching(() => tracker.counts());
  const firstCreated = firstStep ? create(firstStep) : Promise.resolve();
  // The rest is created while the first services start.
  const rest = firstCreated.then(async () => {
    for (const step of laterSteps) await create(step);
  });
  rest.catch((error: unknown) => launchFailed.abort(error));

  const targets = plan.waits.map((wait) => ({
    ...wait,
    dockerProbeEveryMs: planned.legacyEngine ? wait.intervalMs : wait.startIntervalMs,
  }));
  const probe =
    io.env['STACKCTL_PROBE_HEALTH'] === '0'
      ? undefined
      : (id: string, command: readonly string[], everyMs: number) =>
          execProbeLoop(docker, id, command, { everyMs, forMs: PROBE_WINDOW_MS, timeoutMs: 5000 });
  const stackOf = new Map(plan.graph.map((node) => [node.service, node.stack]));
  const waited = waitForServices(docker, model.project, targets, {
    deadline: Date.now() + request.timeoutMs,
    since,
    signal: AbortSignal.any([io.signal, launchFailed.signal]),
    probe,
    launchedAt: launcher.launchedAt,
    onChange: (service, state) => {
      launcher.observe(service, state);
      const stackName = stackOf.get(service) ?? '';
      const stackDone = state.phase === 'ready' && tracker.ready(service);
      view.serviceChanged(service, state, tracker.counts());
      if (stackDone) view.stackReady(stackName, tracker.counts());
    },
    onWaiting: (refresh) => launcher.begin(refresh),
  });
  waited.catch(() => undefined); // awaited below, after the first containers exist
  let results: WaitResult[];
  try {
    await firstCreated.catch(() => undefined); // a failure ends the wait (launchFailed)
    results = await waited;
    await rotations.settled();
    if (launchFailed.signal.aborted) throw launchFailed.signal.reason;
  } catch (error) {
    // A launch or a creation that failed ended the wait: that is the failure.
    if (!launchFailed.signal.aborted || io.signal.aborted) throw error;
    const reason = launchFailed.signal.reason as Error;
    if (reason instanceof StackctlError) throw reason;
    throw new StackctlError('E_RUNTIME', reason.message, {
      hint: `the stack is left as it is: stackctl status ${model.name}; stop it with: stackctl stop ${model.name}`,
    });
  } finally {
    launcher.stop();
    launching?.stop();
  }
  await rest.catch(() => undefined);
  await jobs.record(results);
  return results.map((result) =>
    doneEarlier.has(result.service) && result.state.phase === 'ready'
      ? { ...result, state: { phase: 'ready', detail: 'completed earlier (unchanged)' }, elapsedMs: 0, at: 0 }
      : result,
  );
}

/** Which stacks are ready, and which are created or partly started: for progress and an interrupted start. */
class StackTracker {
  private readonly total: number;
  private readonly readySet = new Set<string>();
  private readonly touched = new Set<string>();
  private readonly servicesOf = new Map<string, string[]>();
  private readonly stackOf = new Map<string, string>();
  private readonly order: string[];
  private readonly services: readonly string[];
  private readonly launchedSet = new Set<string>();
  private creatingNow: readonly string[] = [];

  constructor(
    plan: StartPlan,
    private readonly since: number,
  ) {
    this.total = plan.graph.length;
    this.services = plan.graph.map((node) => node.service);
    for (const node of plan.graph) {
      this.stackOf.set(node.service, node.stack);
      this.servicesOf.set(node.stack, [...(this.servicesOf.get(node.stack) ?? []), node.service]);
    }
    this.order = [...this.servicesOf.keys()];
  }

  created(services: readonly string[]): void {
    for (const service of services) this.touched.add(this.stackOf.get(service) ?? '');
  }

  launched(service: string): void {
    this.touched.add(this.stackOf.get(service) ?? '');
    this.launchedSet.add(service);
  }

  /** The services compose is creating now (none once it is done). */
  creating(services: readonly string[]): void {
    this.creatingNow = services;
  }

  /** Marks a service ready; true when that made its whole stack ready. */
  ready(service: string): boolean {
    if (this.readySet.has(service)) return false;
    this.readySet.add(service);
    const stack = this.stackOf.get(service) ?? '';
    return (this.servicesOf.get(stack) ?? []).every((name) => this.readySet.has(name));
  }

  readyStacks(): string[] {
    return this.order.filter((stack) =>
      (this.servicesOf.get(stack) ?? []).every((s) => this.readySet.has(s)),
    );
  }

  /** Stacks created or partly started, not yet ready. */
  starting(): string[] {
    const ready = this.readyStacks();
    return this.order.filter((stack) => this.touched.has(stack) && !ready.includes(stack));
  }

  counted(): string {
    return `${this.readySet.size}/${this.total} ready`;
  }

  counts(): StartCounts {
    const pending = this.services.filter((service) => !this.readySet.has(service));
    return {
      ready: this.readySet.size,
      total: this.total,
      elapsedMs: Date.now() - this.since,
      starting: this.starting(),
      phase:
        this.creatingNow.length > 0
          ? 'creating'
          : pending.some((service) => !this.launchedSet.has(service))
            ? 'starting'
            : 'waiting',
      creating: this.creatingNow,
      pending,
    };
  }
}

/**
 * Rotations made while the environment was down (a database role's password): applied as soon as
 * the service that keeps them is ready, before anything that waits for it starts.
 */
class PendingRotations {
  private pending: Awaited<ReturnType<typeof readPendingRotations>> = [];

  constructor(
    private readonly root: string,
    private readonly file: StackFile,
    private readonly model: EnvironmentModel,
    private readonly prepared: PreparedGeneration,
    private readonly docker: Docker,
    private readonly io: StartIo,
    private readonly view: StartView,
  ) {}

  async load(): Promise<void> {
    this.pending = await readPendingRotations(this.root, this.model.name);
  }

  /** Credential checks under way: the start is not reported done before they are. */
  private readonly checks: Promise<void>[] = [];

  /**
   * Checks, beside the start (off its critical path), that each credential the store holds for a
   * service that keeps it in its data (a database role's password) still opens it: a config
   * restore or a hand edit can leave a value the database never had.
   */
  checkFor(service: string, onFailure: (error: StackctlError) => void): void {
    const store = this.prepared.stores.get(this.model.name);
    for (const [name, def] of Object.entries(this.file.variables)) {
      if (def.type !== 'secret' || def.rotation?.service !== service) continue;
      const role =
        def.rotation.role === undefined ? undefined : interpolate(def.rotation.role, this.model.values).value;
      const rotation = liveRotation(name, def.rotation, role);
      const value = store?.secrets[name]?.value;
      if (rotation === undefined || value === undefined) continue;
      this.checks.push(
        (async () => {
          const container = await runningContainer(this.docker, this.model.project, service);
          if (container === undefined) return;
          const opens = await credentialOpens(container, rotation, value, this.io.env, this.io.signal);
          if (opens === false)
            onFailure(
              new StackctlError(
                'E_RUNTIME',
                `${name} in the secret store does not open ${service}${role === undefined ? '' : ` (role ${role})`}: ${service} uses another value`,
                {
                  hint: `put the value ${service} uses back (printf %s "$VALUE" | stackctl secrets set ${this.model.name} ${name} --replace); a config restore keeps the values it did not use in .stackctl/restored-secrets/ or .stackctl/replaced-secrets/`,
                },
              ),
            );
        })().catch(() => undefined),
      );
    }
  }

  async settled(): Promise<void> {
    await Promise.all(this.checks);
  }

  async applyFor(service: string): Promise<void> {
    for (const rotation of this.pending.filter((entry) => entry.service === service)) {
      const container = await runningContainer(this.docker, this.model.project, rotation.service);
      const next = this.prepared.stores.get(this.model.name)?.secrets[rotation.name]?.value;
      if (container === undefined || next === undefined) continue;
      await applyInService(container, rotation, { previous: '', next }, this.io.env, this.io.signal);
      this.view.note(`Applied the rotated ${rotation.name} in ${rotation.service}`);
      this.pending = this.pending.filter((entry) => entry !== rotation);
      await writePendingRotations(this.root, this.model.name, this.pending);
    }
  }
}

/** The one line Ctrl-C during start leaves: what is up, what is partly there, and how to stop it. */
function interruptedStart(envName: string, tracker: StackTracker): StackctlError {
  const ready = tracker.readyStacks();
  const partly = tracker.starting();
  const parts: string[] = [];
  if (ready.length > 0) parts.push(`${ready.join(', ')} ${ready.length === 1 ? 'is' : 'are'} up`);
  if (partly.length > 0) parts.push(`${partly.join(', ')} partly created or started`);
  const left = parts.length === 0 ? 'nothing was started' : parts.join('; ');
  return new StackctlError('E_INTERRUPTED', `start of ${envName} interrupted: ${left}`, {
    hint: parts.length === 0 ? '' : `stop what runs with: stackctl stop ${envName}`,
  });
}

/** Compose's pull and build lines, the ones worth showing while a first start downloads. */
function isTransferLine(line: string): boolean {
  return /\b(pull|pulling|pulled|download|downloading|extracting|build|building|built)\b|^#\d+ /i.test(line);
}

/**
 * Containers whose network was removed while they were stopped (by `docker network prune`, say)
 * cannot start again: compose recreates the network but not them. Recreate them first (keeping
 * their volumes), so start repairs the environment instead of failing on "network not found".
 */
async function recreateStranded(
  docker: Docker,
  project: string,
  baseArgs: readonly string[],
  run: (args: readonly string[]) => Promise<ComposeRun>,
  view: StartView,
): Promise<void> {
  const stranded = await containersOnMissingNetworks(docker, await listServiceContainers(docker, project));
  if (stranded.length === 0) return;
  const services = [...new Set(stranded.map((container) => container.service))];
  view.note(`Recreating ${services.join(', ')}: a network they were on was removed`);
  const result = await run([...baseArgs, 'up', '--no-start', '--no-deps', '--force-recreate', ...services]);
  if (result.exitCode !== 0) {
    view.composeOutput(result.output.trimEnd());
    throw new StackctlError('E_RUNTIME', `could not recreate ${services.join(', ')} on new networks`, {
      hint: 'see the compose output above',
    });
  }
}

/**
 * The cache folders the services mount (./models): created before compose runs, since Docker would
 * make them root-owned and a swarm task would fail on a missing bind source. Preflight only says so.
 */
export async function createCacheFoldersOf(
  root: string,
  model: EnvironmentModel,
  view: StartView,
): Promise<void> {
  const created = await createCacheFolders(root, hostPathsOf(model));
  if (created.length > 0)
    view.note(`Created ${created.join(', ')} (cache folder${created.length === 1 ? '' : 's'})`);
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

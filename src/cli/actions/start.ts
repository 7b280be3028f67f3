import type Docker from 'dockerode';
import { EXIT, ReportedFailure, StackctlError } from '../../errors.js';
import { applyFiles } from '../../effects/apply-files.js';
import { readComposeConfig, runCompose, requireCompose } from '../../effects/compose-runner.js';
import { parseEffectiveConfig } from '../../plan/effective.js';
import { redactor } from '../../generate/redact.js';
import { LaunchError, StepLauncher } from '../../effects/launcher.js';
import { containersOnMissingNetworks, projectContainers } from '../../effects/containers.js';
import { dockerClient, findCompose, type ComposeFlavour } from '../../effects/docker.js';
import { confirmStable, waitForServices, type WaitResult } from '../../effects/health-waiter.js';
import { STABLE_MS } from '../../health/classify.js';
import { acquireLock } from '../../effects/lock.js';
import { readSecretHistory } from '../../effects/secret-store.js';
import {
  applyInService,
  readPendingRotations,
  runningContainer,
  writePendingRotations,
} from '../../effects/rotation.js';
import { execProbe } from '../../effects/exec-probe.js';
import { ensureDirectory, writeFileAtomic } from '../../effects/files.js';
import { recordValidSchema, stateDirectory } from '../../effects/state.js';
import { compareVersions, START_INTERVAL_API, type Check } from '../../preflight/checks.js';
import { join } from 'node:path';
import { durationMs } from '../../duration.js';
import { resolveEnvironment, type EnvironmentModel } from '../../model/environment.js';
import type { GpuMode } from '../../plan/gpu-layout.js';
import { composeArgs, planStart, withoutServices, type StartStep } from '../../plan/start.js';
import type { StackFile } from '../../schema/types.js';
import { startProgress, type Progress } from '../../ui/progress.js';
import { printLine, type CommandContext } from '../context.js';
import { prepareGeneration } from '../generation.js';
import { loadStack, requireEnvironment, type LoadedStack } from '../load-stack.js';
import { configHashes, JobLedger } from './start-jobs.js';
import { explainFailure, printDryRun, printSummary } from './start-report.js';

export const FIRST_RUN = 'first-run';

/** How another command (restore) runs start as a step of its own. */
export interface StartOptions {
  /** The caller holds the environment's lock. */
  readonly lockHeld?: boolean;
  /** The caller checked what it needs: no preflight, and no warning that it was skipped. */
  readonly withoutPreflight?: boolean;
}

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

export async function startAction(
  envName: string,
  flags: StartFlags,
  ctx: CommandContext,
  options: StartOptions = {},
): Promise<void> {
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
        dryRun: flags.dryRun,
        startFlags: flags,
      },
      ctx,
    );
    return;
  }
  requireEnvironment(stack.file, envName);
  const lock =
    flags.dryRun === true || options.lockHeld === true
      ? undefined
      : await acquireLock(stack.root, envName, `start ${envName}`);
  try {
    await startLocked(stack, envName, flags, ctx, engine, options);
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
  options: StartOptions = {},
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
  const timeoutMs = parseDuration('--timeout', flags.timeout);
  const settleMs = flags.settle === undefined ? STABLE_MS : parseDuration('--settle', flags.settle);
  const quiet = flags.json === true;

  // 1. Preflight. Warnings are shown and start goes on; failures stop it (a dry run still shows
  // its plan, as it would run once they are fixed).
  let gpuOverride;
  let findings: readonly Check[] = [];
  if (options.withoutPreflight === true) {
    // The calling command checked what it needs.
  } else if (flags.skipPreflight === true) {
    if (!quiet)
      printLine(
        ctx.stderr,
        ctx.colors.yellow(
          '⚠ preflight skipped (--skip-preflight): host problems will show up as start failures',
        ),
      );
  } else {
    // Loaded only when used: the host probes are a large part of stackctl's load time.
    const { assessHost, formatChecks, report } = await import('./preflight.js');
    // Start generates the environment's config files right after: missing ones are no failure.
    const assessment = await assessHost(stack, envName, flags.gpu, ctx, { generatesFiles: true });
    findings = assessment.checks.filter((check) => check.status !== 'pass');
    const failed = findings.some((check) => check.status === 'fail');
    if (failed && flags.dryRun !== true) report(envName, findings, { json: flags.json }, ctx);
    if (!quiet && findings.length > 0) {
      for (const line of formatChecks(findings, ctx.colors)) printLine(ctx.stderr, line);
      if (failed)
        printLine(ctx.stderr, ctx.colors.red(`✖ ${envName}: preflight failed; the plan once that is fixed:`));
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
  // What runs is made from it: status, stop and logs fall back to it while the schema is mid-edit.
  if (flags.dryRun !== true) await recordValidSchema(stack.root, stack.schemaText);

  // 3. Plan the compose invocations and the waits.
  const model = resolveEnvironment(file, envName, gpuOverride ?? prepared.gpuSelection.get(envName));
  // Engines older than API 1.44 have no start_interval: drop it for them; Docker then runs each
  // healthcheck only once an interval, and stackctl's own runs see readiness early.
  const engineApi = await engine?.apiVersion;
  const legacyEngine = engineApi !== undefined && compareVersions(engineApi, START_INTERVAL_API) < 0;
  const baseArgs = composeArgs(model, stack.root, envFiles);
  if (legacyEngine) baseArgs.push('-f', await writeLegacyHealthOverride(stack.root, model));
  const secrets = Object.values(prepared.stores.get(envName)?.secrets ?? {}).map((entry) => entry.value);
  // Old values too: containers from before a rotation still print them.
  const redact = redactor([...secrets, ...(await readSecretHistory(stack.root, envName))]);
  const composeEnv = composeEnvironment(ctx.env, file);
  // What compose will really run (the user's overlay included) decides what is waited for. A dry
  // run reads it only when the files on disk are the ones start would use.
  const filesCurrent = files.every((result) => result.status === 'unchanged');
  const composeForPlan = engine ? await engine.compose : filesCurrent ? await findCompose(ctx.env) : null;
  const effective = composeForPlan
    ? parseEffectiveConfig(
        await readComposeConfig(composeForPlan, baseArgs, {
          env: composeEnv,
          signal: ctx.signal,
          redact,
        }),
      )
    : undefined;
  const plan = planStart(file, model, baseArgs, { stacks: flags.stack, services: flags.service }, effective);
  if (flags.dryRun === true) {
    printDryRun(plan, files, model, ctx, flags.json === true, flags.wait, findings);
    if (findings.some((check) => check.status === 'fail')) throw new ReportedFailure(EXIT.preflight);
    return;
  }

  if (!engine) throw new Error('no engine lookup outside a dry run');
  const { docker } = engine;
  const compose = await engine.compose;
  // On a terminal, what compose says about pulling and building (a first start pulls many GB) is
  // shown as it comes, above whichever spinner is on screen: the next stack's images are pulled
  // while the one before is waited for.
  let onScreen: Progress | undefined;
  const show = (progress: Progress | undefined): Progress | undefined => (onScreen = progress);
  const run = (args: readonly string[]) =>
    runCompose(compose, args, {
      env: composeEnv,
      signal: ctx.signal,
      redact,
      onLine: (line: string) => {
        if (onScreen?.animated === true) showTransfer(line, onScreen);
      },
    });
  await recreateStranded(docker, model.project, baseArgs, run, quiet ? undefined : ctx);
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

  const jobs = await JobLedger.open(stack.root, envName, plan, {
    hashes: (services) => configHashes(run, baseArgs, services),
    containers: () => projectContainers(docker, model.project),
  });
  // A step without the jobs that already completed with this exact configuration.
  const remaining = async (step: StartStep): Promise<{ step?: StartStep; done: WaitResult[] }> => {
    const done = await jobs.completedIn(step);
    if (done.length === 0) return { step, done };
    const rest = withoutServices(plan, step, new Set(done.map((result) => result.service)));
    return { ...(rest ? { step: rest } : {}), done };
  };

  // Rotations made while the environment was down (a database role's password): applied as soon
  // as the service that keeps them is ready, before anything that logs in with them starts.
  let pendingRotations = await readPendingRotations(stack.root, envName);
  const applyPending = async (services: readonly string[]): Promise<void> => {
    const due = pendingRotations.filter((entry) => services.includes(entry.service));
    if (due.length === 0) return;
    for (const rotation of due) {
      const container = await runningContainer(docker, model.project, rotation.service);
      const next = prepared.stores.get(envName)?.secrets[rotation.name]?.value;
      if (container === undefined || next === undefined) continue;
      await applyInService(container, rotation, { previous: '', next }, ctx.env, ctx.signal);
      if (!quiet) printLine(ctx.stderr, `Applied the rotated ${rotation.name} in ${rotation.service}`);
      pendingRotations = pendingRotations.filter((entry) => entry !== rotation);
      await writePendingRotations(stack.root, envName, pendingRotations);
    }
  };

  // What is up so far, for the one line an interrupted start leaves behind.
  const stacksSoFar: StacksSoFar = { ready: [], partly: [] };
  const total = plan.waits.length;
  try {
    await runSteps();
  } catch (error) {
    if (ctx.signal.aborted) throw interruptedStart(envName, stacksSoFar);
    throw error;
  }

  async function runSteps(): Promise<void> {
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
      markPartly(stacksSoFar, step.stack);
      const stepStarted = Date.now();
      if (precreated && flags.wait) {
        launcher = new StepLauncher(docker, model.project, step.after, (error) => launchFailed.abort(error));
      } else {
        const progress = show(
          quiet ? undefined : startProgress(ctx, `Starting ${step.stack}: ${services.join(', ')}`),
        );
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
        markPartly(stacksSoFar, next.stack);
        created = remaining(next).then(
          async ({ step: nextStep }) =>
            nextStep === undefined || (await run(nextStep.createArgs)).exitCode === 0,
          () => false,
        );
      }
      const readyNow = new Set(
        results.filter((result) => result.state.phase === 'ready').map((result) => result.service),
      );
      const counted = (): string => `${readyNow.size}/${total} ready`;
      const waiting = show(
        quiet
          ? undefined
          : startProgress(ctx, `Waiting for ${step.stack} (${counted()}): ${services.join(', ')}`),
      );
      const stepResults = await waitForServices(docker, model.project, stepTargets, {
        deadline,
        since: stepStarted,
        signal: AbortSignal.any([ctx.signal, launchFailed.signal]),
        probe,
        ...(launcher ? { launchedAt: launcher.launchedAt } : {}),
        onChange: (service, state) => {
          launcher?.observe(service, state);
          if (state.phase === 'ready') readyNow.add(service);
          if (quiet) return;
          const text = `${service}: ${state.detail} (${seconds(Date.now() - started)})`;
          if (waiting?.animated === true) waiting.update(`Waiting for ${step.stack} (${counted()}): ${text}`);
          else if (state.phase !== 'starting') printLine(ctx.stderr, `${text} [${counted()}]`);
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
      await jobs.record(stepResults);
      const failure = stepResults.find((result) => result.state.phase === 'failed');
      if (failure) {
        await created;
        await explainFailure(docker, envName, failure, redact, results, flags, ctx, findings);
        throw new ReportedFailure(EXIT.runtime);
      }
      markReady(stacksSoFar, step.stack);
      await applyPending(step.services);
      if (!quiet)
        printLine(
          ctx.stderr,
          ctx.colors.green(
            `✔ ${step.stack} ready in ${seconds(Date.now() - started)} (${readyNow.size}/${total} ready)`,
          ),
        );
    }
    if (flags.wait && settleMs > 0) {
      const settling = quiet ? undefined : startProgress(ctx, 'Checking that every service stays up');
      const stable = await confirmStable(docker, model.project, results, {
        stableMs: settleMs,
        isJob: (service) => plan.waits.find((wait) => wait.service === service)?.kind === 'job',
        signal: ctx.signal,
      }).finally(() => settling?.stop());
      const crashed = stable.find((result) => result.state.phase === 'failed');
      if (crashed) {
        await explainFailure(docker, envName, crashed, redact, stable, flags, ctx, findings);
        throw new ReportedFailure(EXIT.runtime);
      }
      results.splice(0, results.length, ...stable);
    }
  }
  await printSummary(docker, envName, model, results, flags, ctx, Date.now() - started, findings);
}

/** What stacks an interrupted start leaves behind: ready ones, and those created or partly started. */
interface StacksSoFar {
  ready: string[];
  partly: string[];
}

function markPartly(state: StacksSoFar, stack: string): void {
  if (!state.partly.includes(stack) && !state.ready.includes(stack)) state.partly.push(stack);
}

function markReady(state: StacksSoFar, stack: string): void {
  state.partly = state.partly.filter((name) => name !== stack);
  if (!state.ready.includes(stack)) state.ready.push(stack);
}

/** The one line Ctrl-C during start leaves: what is up, what is partly there, and how to stop it. */
function interruptedStart(envName: string, state: StacksSoFar): StackctlError {
  const parts: string[] = [];
  if (state.ready.length > 0)
    parts.push(`${state.ready.join(', ')} ${state.ready.length === 1 ? 'is' : 'are'} up`);
  if (state.partly.length > 0) parts.push(`${state.partly.join(', ')} partly created or started`);
  const left = parts.length === 0 ? 'nothing was started' : parts.join('; ');
  return new StackctlError('E_INTERRUPTED', `start of ${envName} interrupted: ${left}`, {
    hint: parts.length === 0 ? '' : `stop what runs with: stackctl stop ${envName}`,
  });
}

/** Compose's pull and build lines, the ones worth showing while a first start downloads. */
function showTransfer(line: string, progress: Progress): void {
  if (/\b(pull|pulling|pulled|download|downloading|extracting|build|building|built)\b|^#\d+ /i.test(line))
    progress.log(line.trim());
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
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
  run: (args: readonly string[]) => Promise<{ exitCode: number; output: string }>,
  ctx: CommandContext | undefined,
): Promise<void> {
  const stranded = await containersOnMissingNetworks(docker, await projectContainers(docker, project));
  if (stranded.length === 0) return;
  const services = [...new Set(stranded.map((container) => container.service))];
  if (ctx) printLine(ctx.stderr, `Recreating ${services.join(', ')}: a network they were on was removed`);
  const result = await run([...baseArgs, 'up', '--no-start', '--no-deps', '--force-recreate', ...services]);
  if (result.exitCode !== 0) {
    if (ctx) printLine(ctx.stderr, result.output.trimEnd());
    throw new StackctlError('E_RUNTIME', `could not recreate ${services.join(', ')} on new networks`, {
      hint: 'see the compose output above',
    });
  }
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

function parseDuration(flag: string, text: string): number {
  // A bare number is seconds; otherwise the compose duration syntax the schema uses too.
  try {
    return /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) * 1000 : durationMs(text);
  } catch {
    throw new StackctlError('E_USAGE', `${flag} "${text}" is not a duration`, {
      hint: 'write it as 90s, 1m30s, 10m or 1h',
    });
  }
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

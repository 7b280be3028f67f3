import type { EnvironmentFiles } from '../generate/plan.js';
import type { EnvironmentModel, ResolvedService } from '../model/environment.js';
import type { StackFile } from '../schema/types.js';
import { dependencyNames } from '../schema/values.js';
import { durationMs } from '../duration.js';
import type { EffectiveService } from './effective.js';
import { composeHealthcheck } from '../generate/compose-files.js';

/** How a service waits for another before it starts (compose's depends_on conditions). */
export type LaunchCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface LaunchDependency {
  readonly service: string;
  readonly condition: LaunchCondition;
}

/** The selected services of one stack, brought up together once the stacks before are ready. */
export interface StartStep {
  readonly stack: string;
  readonly services: readonly string[];
  /** `docker compose up --detach` for these services. */
  readonly args: readonly string[];
  /**
   * `docker compose up --no-start` for these services: creates their containers (and pulls or builds
   * images) without starting them, so this can run while the stack before is still starting.
   */
  readonly createArgs: readonly string[];
  /** For each service, what it waits for among this step's services before its containers start. */
  readonly after: Readonly<Record<string, readonly LaunchDependency[]>>;
}

export interface WaitSpec {
  readonly service: string;
  readonly stack: string;
  readonly kind: 'service' | 'job';
  readonly hasHealthcheck: boolean;
  readonly replicas: number;
  readonly budgetMs: number;
  /** How the budget was computed, for --dry-run. */
  readonly budgetReason: string;
  /** How often Docker runs the healthcheck while the service starts (start_interval, else interval). */
  readonly startIntervalMs?: number;
  /** How often Docker runs it on engines without start_interval (API < 1.44): the interval. */
  readonly intervalMs?: number;
}

export interface StartPlan {
  /** The arguments every compose invocation of this plan starts with. */
  readonly baseArgs: readonly string[];
  readonly steps: readonly StartStep[];
  readonly waits: readonly WaitSpec[];
  /** Where replicas, healthchecks and dependencies came from: compose's resolved configuration, or the schema. */
  readonly expectationsFrom: 'compose' | 'schema';
}

/** Extra time on top of a healthcheck's own worst case: image start, first probe, scheduling. */
export const BUDGET_SLACK_MS = 15_000;
/** A service without a healthcheck only has to be running. */
export const NO_HEALTHCHECK_BUDGET_MS = 60_000;
/** One-shot jobs get this long to exit 0 unless their healthcheck says otherwise. */
export const JOB_BUDGET_MS = 300_000;

/** The arguments every compose invocation for an environment starts with (never a secret value). */
export function composeArgs(model: EnvironmentModel, root: string, files: EnvironmentFiles): string[] {
  const args = ['-p', model.project, '--project-directory', root, '--env-file', `${root}/${files.envFile}`];
  for (const file of files.composeFiles) args.push('-f', `${root}/${file}`);
  return args;
}

export interface Selection {
  readonly stacks?: readonly string[];
  readonly services?: readonly string[];
}

/** The services a selection names, plus everything they depend on. */
export function selectServices(model: EnvironmentModel, selection: Selection): ResolvedService[] {
  const all = new Map(model.services.map((service) => [service.name, service]));
  const wanted = model.services.filter((service) => {
    const stackOk = !selection.stacks?.length || selection.stacks.includes(service.stack);
    const serviceOk = !selection.services?.length || selection.services.includes(service.name);
    return stackOk && serviceOk;
  });
  const chosen = new Set<string>();
  const visit = (name: string): void => {
    if (chosen.has(name) || !all.has(name)) return;
    chosen.add(name);
    for (const dependency of dependencyNames(all.get(name)?.definition ?? { stack: '' })) visit(dependency);
  };
  for (const service of wanted) visit(service.name);
  return model.services.filter((service) => chosen.has(service.name));
}

/**
 * Start in stack dependency order (core, inference, ai, ui; testing and monitoring after core),
 * waiting for each stack before the next. Pure: the caller runs the steps.
 */
export function planStart(
  file: StackFile,
  model: EnvironmentModel,
  baseArgs: readonly string[],
  selection: Selection,
  effective?: ReadonlyMap<string, EffectiveService>,
): StartPlan {
  // Compose runs only what its resolved configuration has (an overlay may drop or add profiles).
  const services = selectServices(model, selection).filter(
    (service) => effective === undefined || effective.has(service.name),
  );
  const dependencies = (service: ResolvedService): LaunchDependency[] =>
    effective?.get(service.name)?.dependsOn.slice() ?? launchDependencies(service.definition.depends_on);
  const steps: StartStep[] = [];
  for (const stack of model.stacks) {
    const chosen = services.filter((service) => service.stack === stack);
    if (chosen.length === 0) continue;
    const names = chosen.map((service) => service.name);
    const after = Object.fromEntries(
      chosen.map((service) => [
        service.name,
        dependencies(service).filter((dep) => names.includes(dep.service)),
      ]),
    );
    steps.push(startStep(baseArgs, stack, names, after, steps.length === 0));
  }
  const waits = services.map((service) => {
    const resolved = effective?.get(service.name);
    return resolved ? effectiveWaitSpec(service, resolved) : waitSpec(file, model, service);
  });
  return { baseArgs, steps, waits, expectationsFrom: effective ? 'compose' : 'schema' };
}

function startStep(
  baseArgs: readonly string[],
  stack: string,
  names: readonly string[],
  after: Readonly<Record<string, readonly LaunchDependency[]>>,
  first: boolean,
): StartStep {
  // Earlier stacks are already ready (they were waited for), so compose need not check them again:
  // --no-deps keeps it to this stack's services and their order among themselves.
  const noDeps = first ? [] : ['--no-deps'];
  return {
    stack,
    services: names,
    args: [...baseArgs, 'up', '--detach', ...noDeps, ...names],
    createArgs: [...baseArgs, 'up', '--no-start', '--no-deps', ...names],
    after,
  };
}

/** The step without some of its services (jobs that already completed), or undefined when none is left. */
export function withoutServices(
  plan: StartPlan,
  step: StartStep,
  skip: ReadonlySet<string>,
): StartStep | undefined {
  const kept = step.services.filter((service) => !skip.has(service));
  if (kept.length === 0) return undefined;
  // What the skipped services were waited for for is already met: they completed.
  const after = Object.fromEntries(
    kept.map((service) => [service, (step.after[service] ?? []).filter((dep) => kept.includes(dep.service))]),
  );
  return startStep(plan.baseArgs, step.stack, kept, after, plan.steps[0]?.stack === step.stack);
}

function launchDependencies(dependsOn: ResolvedService['definition']['depends_on']): LaunchDependency[] {
  if (dependsOn === undefined) return [];
  if (Array.isArray(dependsOn))
    return dependsOn.map((service) => ({ service, condition: 'service_started' }));
  return Object.entries(dependsOn).map(([service, options]) => ({
    service,
    condition: options.condition ?? 'service_started',
  }));
}

/** What to wait for, from the healthcheck compose resolved (overlays included). */
function effectiveWaitSpec(service: ResolvedService, effective: EffectiveService): WaitSpec {
  const check = effective.healthcheck;
  return buildWaitSpec(
    { service: service.name, stack: service.stack, kind: effective.kind, replicas: effective.replicas },
    check && {
      startPeriodMs: durationMs(check.startPeriod ?? '0s'),
      intervalMs: durationMs(check.interval ?? '30s'),
      timeoutMs: durationMs(check.timeout ?? '30s'),
      retries: check.retries ?? 3,
      startIntervalMs: check.startInterval === undefined ? undefined : durationMs(check.startInterval),
    },
  );
}

/** The schema's healthcheck, for plans made without compose's resolved configuration (a dry run without compose). */
function waitSpec(file: StackFile, model: EnvironmentModel, service: ResolvedService): WaitSpec {
  const healthcheck = composeHealthcheck(
    file,
    service.definition.healthcheck,
    model.definition.healthcheckTemplate,
  ) as
    | {
        disable?: boolean;
        test?: string | string[];
        start_period?: string;
        interval?: string;
        timeout?: string;
        retries?: number;
        start_interval?: string;
      }
    | undefined;
  const identity = {
    service: service.name,
    stack: service.stack,
    kind: service.kind,
    replicas: service.definition.deploy?.replicas ?? 1,
  };
  if (healthcheck === undefined || healthcheck.disable === true) return buildWaitSpec(identity, undefined);
  return buildWaitSpec(identity, {
    startPeriodMs: durationMs(healthcheck.start_period ?? '0s'),
    intervalMs: durationMs(healthcheck.interval ?? '30s'),
    timeoutMs: durationMs(healthcheck.timeout ?? '30s'),
    retries: healthcheck.retries ?? 3,
    startIntervalMs:
      healthcheck.start_interval === undefined ? undefined : durationMs(healthcheck.start_interval),
  });
}

interface HealthTiming {
  readonly startPeriodMs: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startIntervalMs: number | undefined;
}

/** A service's budget: its healthcheck's worst case plus slack, or a fixed one without a healthcheck. */
function buildWaitSpec(
  identity: Pick<WaitSpec, 'service' | 'stack' | 'kind' | 'replicas'>,
  health: HealthTiming | undefined,
): WaitSpec {
  if (!health) {
    const job = identity.kind === 'job';
    return {
      ...identity,
      hasHealthcheck: false,
      budgetMs: job ? JOB_BUDGET_MS : NO_HEALTHCHECK_BUDGET_MS,
      budgetReason: job ? 'job: exit 0' : 'no healthcheck: running',
    };
  }
  const { startPeriodMs, intervalMs, timeoutMs, retries } = health;
  return {
    ...identity,
    hasHealthcheck: true,
    startIntervalMs: health.startIntervalMs ?? intervalMs,
    intervalMs,
    budgetMs: startPeriodMs + retries * (intervalMs + timeoutMs) + BUDGET_SLACK_MS,
    budgetReason: `start_period ${ms(startPeriodMs)} + ${retries} × (interval ${ms(intervalMs)} + timeout ${ms(timeoutMs)}) + ${ms(BUDGET_SLACK_MS)}`,
  };
}

function ms(value: number): string {
  return value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`;
}

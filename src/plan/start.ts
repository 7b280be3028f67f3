import type { EnvironmentFiles } from '../generate/plan.js';
import type { EnvironmentModel, ResolvedService } from '../model/environment.js';
import type { StackFile } from '../schema/types.js';
import { dependencyNames } from '../schema/values.js';
import { durationMs } from '../duration.js';
import { composeHealthcheck } from '../generate/compose-files.js';
import { healthcheckCommand, unescapeCompose } from '../health/probe.js';

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
  /** The healthcheck command, which stackctl may also run itself to see readiness early. */
  readonly probeCommand?: readonly string[];
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
): StartPlan {
  const services = selectServices(model, selection);
  const steps: StartStep[] = [];
  for (const stack of model.stacks) {
    const chosen = services.filter((service) => service.stack === stack);
    if (chosen.length === 0) continue;
    steps.push(startStep(baseArgs, stack, chosen, steps.length === 0));
  }
  const waits = services.map((service) => waitSpec(file, model, service));
  return { baseArgs, steps, waits };
}

function startStep(
  baseArgs: readonly string[],
  stack: string,
  services: readonly ResolvedService[],
  first: boolean,
): StartStep {
  const names = services.map((service) => service.name);
  // Earlier stacks are already ready (they were waited for), so compose need not check them again:
  // --no-deps keeps it to this stack's services and their order among themselves.
  const noDeps = first ? [] : ['--no-deps'];
  const after = Object.fromEntries(
    services.map((service) => [
      service.name,
      launchDependencies(service.definition.depends_on).filter((dep) => names.includes(dep.service)),
    ]),
  );
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
  model: EnvironmentModel,
): StartStep | undefined {
  const kept = model.services.filter(
    (service) => step.services.includes(service.name) && !skip.has(service.name),
  );
  if (kept.length === 0) return undefined;
  return startStep(plan.baseArgs, step.stack, kept, plan.steps[0]?.stack === step.stack);
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

function waitSpec(file: StackFile, model: EnvironmentModel, service: ResolvedService): WaitSpec {
  const healthcheck = composeHealthcheck(
    file,
    service.definition.healthcheck,
    model.definition.healthcheckTemplate,
  );
  const hasHealthcheck = healthcheck !== undefined && healthcheck['disable'] !== true;
  const replicas = service.definition.deploy?.replicas ?? 1;
  const command = hasHealthcheck
    ? healthcheckCommand(healthcheck['test'] as string | string[] | undefined)
    : undefined;
  const base = {
    service: service.name,
    stack: service.stack,
    kind: service.kind,
    hasHealthcheck,
    replicas,
    ...(command ? { probeCommand: unescapeCompose(command) } : {}),
  };
  if (!hasHealthcheck) {
    const budget = service.kind === 'job' ? JOB_BUDGET_MS : NO_HEALTHCHECK_BUDGET_MS;
    return {
      ...base,
      budgetMs: budget,
      budgetReason: service.kind === 'job' ? 'job: exit 0' : 'no healthcheck: running',
    };
  }
  const timing = healthcheck as {
    start_period?: string;
    interval?: string;
    timeout?: string;
    retries?: number;
  };
  const startPeriod = durationMs(timing.start_period ?? '0s');
  const interval = durationMs(timing.interval ?? '30s');
  const timeout = durationMs(timing.timeout ?? '30s');
  const retries = timing.retries ?? 3;
  const budget = startPeriod + retries * (interval + timeout) + BUDGET_SLACK_MS;
  const startInterval = (healthcheck as { start_interval?: string }).start_interval;
  return {
    ...base,
    startIntervalMs: startInterval === undefined ? interval : durationMs(startInterval),
    intervalMs: interval,
    budgetMs: budget,
    budgetReason: `start_period ${ms(startPeriod)} + ${retries} × (interval ${ms(interval)} + timeout ${ms(timeout)}) + ${ms(BUDGET_SLACK_MS)}`,
  };
}

function ms(value: number): string {
  return value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`;
}

import type { EnvironmentFiles } from '../generate/plan.js';
import type { EnvironmentModel, ResolvedService } from '../model/environment.js';
import type { StackFile } from '../schema/types.js';
import { dependencyNames } from '../schema/values.js';
import { durationMs } from '../duration.js';
import type { EffectiveService } from './effective.js';
import type { LaunchDependency } from './dependencies.js';
import { composeHealthcheck } from '../generate/compose-files.js';
import { stackClosure } from '../schema/rules/networks.js';

export type { LaunchCondition, LaunchDependency } from './dependencies.js';

/** One service of the start graph. */
export interface LaunchNode {
  readonly service: string;
  readonly stack: string;
  /**
   * What must be met before its containers start: its own depends_on (within the selection), and
   * every service of the stacks its stack depends on being ready.
   */
  readonly waitsFor: readonly LaunchDependency[];
}

/** A `docker compose up --no-start` that creates some of the services' containers (pulling or building images). */
export interface CreateStep {
  readonly services: readonly string[];
  readonly args: readonly string[];
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
  /** Every selected service, in stack order, with what it waits for. */
  readonly graph: readonly LaunchNode[];
  /**
   * How the containers are created, in order: first the services that wait for no other stack (they
   * start at once), then the rest, created while the first ones start.
   */
  readonly create: readonly CreateStep[];
  /** `docker compose up --detach` for every selected service: a start that does not wait. */
  readonly upArgs: readonly string[];
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
 * The start graph: each service starts the moment its own depends_on is met and every service of the
 * stacks its stack depends on (stacks.<name>.dependsOn, transitively) is ready; stacks that do not
 * depend on each other start side by side. Pure: the caller creates, launches and waits.
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
  const graph = launchGraph(
    file.stacks,
    services.map((service) => ({
      service: service.name,
      stack: service.stack,
      dependsOn: dependencies(service),
    })),
  );
  const waits = services.map((service) => {
    const resolved = effective?.get(service.name);
    return resolved ? effectiveWaitSpec(service, resolved) : waitSpec(file, model, service);
  });
  return {
    baseArgs,
    graph,
    create: createSteps(baseArgs, graph),
    upArgs: [...baseArgs, 'up', '--detach', ...graph.map((node) => node.service)],
    waits,
    expectationsFrom: effective ? 'compose' : 'schema',
  };
}

interface GraphInput {
  readonly service: string;
  readonly stack: string;
  readonly dependsOn: readonly LaunchDependency[];
}

/**
 * What each service waits for: its own dependencies among the selected services, then every selected
 * service of the stacks its stack depends on (ready). Throws when nothing could ever start a service
 * (a cycle through depends_on and stack dependencies).
 */
export function launchGraph(
  stacks: Readonly<Record<string, { dependsOn?: string[] }>>,
  services: readonly GraphInput[],
): LaunchNode[] {
  const selected = new Set(services.map((service) => service.service));
  const graph = services.map((service) => {
    const own = service.dependsOn.filter((dep) => selected.has(dep.service));
    const before = stackClosure(stacks, service.stack);
    const barrier = services
      .filter((other) => before.has(other.stack) && !own.some((dep) => dep.service === other.service))
      .map((other) => ({ service: other.service, condition: 'service_ready' as const }));
    return { service: service.service, stack: service.stack, waitsFor: [...own, ...barrier] };
  });
  const cycle = findCycle(graph);
  if (cycle) throw new Error(`services wait for each other in a circle: ${cycle.join(' → ')}`);
  return graph;
}

/** A cycle in the graph (its services in order, first repeated last), or undefined. */
function findCycle(graph: readonly LaunchNode[]): string[] | undefined {
  const byService = new Map(graph.map((node) => [node.service, node]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (service: string): string[] | undefined => {
    if (state.get(service) === 'done') return undefined;
    if (state.get(service) === 'visiting') return [...path.slice(path.indexOf(service)), service];
    state.set(service, 'visiting');
    path.push(service);
    for (const dep of byService.get(service)?.waitsFor ?? []) {
      const found = visit(dep.service);
      if (found) return found;
    }
    path.pop();
    state.set(service, 'done');
    return undefined;
  };
  for (const node of graph) {
    const found = visit(node.service);
    if (found) return found;
  }
  return undefined;
}

/**
 * Stops in the start graph's reverse: a service stops once everything that waits for it has
 * stopped. Returns, for each service, the services that must stop before it.
 */
export function stopGraph(graph: readonly LaunchNode[]): Map<string, string[]> {
  const before = new Map(graph.map((node) => [node.service, [] as string[]]));
  for (const node of graph) {
    for (const dep of node.waitsFor) before.get(dep.service)?.push(node.service);
  }
  return before;
}

/** The services that wait for no other stack's are created first; the rest while those start. */
function createSteps(baseArgs: readonly string[], graph: readonly LaunchNode[]): CreateStep[] {
  const stackOf = new Map(graph.map((node) => [node.service, node.stack]));
  const first = graph.filter((node) => node.waitsFor.every((dep) => stackOf.get(dep.service) === node.stack));
  const rest = graph.filter((node) => !first.includes(node));
  return [first, rest]
    .filter((nodes) => nodes.length > 0)
    .map((nodes) => {
      const services = nodes.map((node) => node.service);
      return { services, args: [...baseArgs, 'up', '--no-start', '--no-deps', ...services] };
    });
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

/**
 * Whether everything a node waits for is met: a `service_started` dependency once it was launched,
 * every other condition once it is ready. Compose start and the swarm deploy both go by it.
 */
export function waitsMet(
  node: LaunchNode,
  seen: { launched(service: string): boolean; ready(service: string): boolean },
): boolean {
  return node.waitsFor.every((dep) =>
    dep.condition === 'service_started' ? seen.launched(dep.service) : seen.ready(dep.service),
  );
}

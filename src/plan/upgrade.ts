// What an upgrade changes and in which order, decided from what runs now and what compose would do
// (its --dry-run): the services it recreates and why, each one's rollout strategy, the data to
// snapshot first, and after a failure which data the new release may have written. Pure.
import type { EnvironmentModel } from '../model/environment.js';
import { dependencyNames } from '../schema/values.js';
import type { EffectiveService } from './effective.js';

export type ChangeReason = 'image' | 'config' | 'new';

export type RolloutStrategy = 'start-first' | 'stop-first';

export interface RolloutStep {
  readonly service: string;
  readonly kind: 'service' | 'job';
  readonly reasons: readonly ChangeReason[];
  readonly strategy: RolloutStrategy;
  /** Why this strategy (a port, a GPU, a job...). */
  readonly strategyReason: string;
}

/** What compose's `--dry-run up` said it would do with each container (by container name). */
export type DryRunAction = 'recreate' | 'create' | 'keep';

/**
 * Reads `docker compose --dry-run up` output: "DRY-RUN MODE -  Container NAME  Recreate" (or Create,
 * Running, Started...) per container; only the first word said about each container counts.
 */
export function parseDryRun(output: string): Map<string, DryRunAction> {
  const actions = new Map<string, DryRunAction>();
  for (const line of output.split('\n')) {
    const match = /Container\s+(\S+)\s+(\w+)/.exec(line);
    if (!match) continue;
    const [, name = '', word = ''] = match;
    if (actions.has(name) || /^[0-9a-f]{12}_/.test(name)) continue;
    actions.set(
      name,
      word === 'Recreate' ? 'recreate' : word === 'Create' || word === 'Creating' ? 'create' : 'keep',
    );
  }
  return actions;
}

/**
 * The environment's services in dependency order: each after everything it depends on (depends_on),
 * in the environment's order otherwise. Cycles are refused by validation before this runs.
 */
export function dependencyOrder(
  model: EnvironmentModel,
  effective: ReadonlyMap<string, EffectiveService>,
): string[] {
  const names = model.services.map((service) => service.name).filter((name) => effective.has(name));
  const dependsOn = (name: string): string[] => {
    const resolved = effective.get(name)?.dependsOn.map((dep) => dep.service);
    const definition = model.services.find((service) => service.name === name)?.definition;
    return resolved ?? (definition ? dependencyNames(definition) : []);
  };
  const placed: string[] = [];
  const visit = (name: string, path: readonly string[]): void => {
    if (placed.includes(name) || path.includes(name) || !names.includes(name)) return;
    for (const dep of dependsOn(name)) visit(dep, [...path, name]);
    placed.push(name);
  };
  for (const name of names) visit(name, []);
  return placed;
}

/**
 * Start-first (a new copy beside the old one, the old removed once the new is healthy: no
 * downtime) where two copies can run at once: a long-running service that publishes no host port
 * and reserves no GPU (two 24 GB cards cannot hold two copies of vLLM). Stop-first otherwise.
 */
export function strategyOf(
  service: EffectiveService | undefined,
  namedByReplica = false,
): { strategy: RolloutStrategy; why: string } {
  if (!service) return { strategy: 'stop-first', why: 'not in the configuration' };
  if (service.kind === 'job') return { strategy: 'stop-first', why: 'a job runs once' };
  if (service.publishesPorts) return { strategy: 'stop-first', why: 'it publishes a host port' };
  if (service.gpu) return { strategy: 'stop-first', why: 'it reserves GPUs' };
  // The new copies get new container numbers, which the generated files do not name.
  if (namedByReplica)
    return {
      strategy: 'stop-first',
      why: 'generated config (nginx, LiteLLM, Prometheus) names its replicas',
    };
  return { strategy: 'start-first', why: 'no host port, no GPU' };
}

/**
 * Services whose replicas the generated config files name one by one (<project>-<env>-<service>-<n>):
 * nginx upstreams of routed services, Prometheus targets of services with metrics, the upstream of
 * a LiteLLM or Logstash file.
 */
export function servicesNamedByReplica(model: EnvironmentModel): Set<string> {
  const named = new Set<string>();
  for (const service of model.services) {
    const definition = service.definition;
    if (definition.route !== undefined || definition.metrics !== undefined) named.add(service.name);
    for (const file of definition.configFiles ?? [])
      if (file.upstream !== undefined) named.add(file.upstream.service);
  }
  return named;
}

export interface RolloutInput {
  readonly order: readonly string[];
  readonly effective: ReadonlyMap<string, EffectiveService>;
  /** compose's dry run, by service: whether it recreates or creates any of its containers. */
  readonly composeAction: ReadonlyMap<string, DryRunAction>;
  /** Services whose image reference names another image than their container runs. */
  readonly imageChanged: ReadonlySet<string>;
  /** Services whose configuration (compose config --hash) differs between the running files and the new ones. */
  readonly configChanged: ReadonlySet<string>;
  /** Services whose replicas generated files name (servicesNamedByReplica). */
  readonly namedByReplica?: ReadonlySet<string>;
}

/** The services the upgrade recreates, in dependency order, each with why and how. */
export function planRollout(input: RolloutInput): RolloutStep[] {
  const steps: RolloutStep[] = [];
  for (const service of input.order) {
    const action = input.composeAction.get(service) ?? 'keep';
    const reasons: ChangeReason[] = [];
    if (action === 'create') reasons.push('new');
    if (input.imageChanged.has(service)) reasons.push('image');
    if (input.configChanged.has(service)) reasons.push('config');
    // compose recreates what it sees changed, even when the files on disk were changed by hand.
    if (action === 'recreate' && reasons.length === 0) reasons.push('config');
    if (action === 'keep' && !input.imageChanged.has(service)) continue;
    if (reasons.length === 0) continue;
    const effective = input.effective.get(service);
    const { strategy, why } =
      action === 'create'
        ? { strategy: 'stop-first' as const, why: 'nothing runs yet' }
        : strategyOf(effective, input.namedByReplica?.has(service) === true);
    steps.push({
      service,
      kind: effective?.kind ?? 'service',
      reasons,
      strategy,
      strategyReason: why,
    });
  }
  return steps;
}

/**
 * The data services to snapshot before rolling out: those recreated, and those a recreated service
 * depends on (a migration job or a new API version writes into them), among `withData`.
 */
export function dataAtRisk(
  model: EnvironmentModel,
  rolled: readonly string[],
  withData: readonly string[],
): string[] {
  const reach = new Set<string>();
  const visit = (name: string): void => {
    if (reach.has(name)) return;
    reach.add(name);
    const definition = model.services.find((service) => service.name === name)?.definition;
    for (const dep of definition ? dependencyNames(definition) : []) visit(dep);
  };
  for (const service of rolled) visit(service);
  return withData.filter((service) => reach.has(service));
}

/**
 * After a failed rollout: the snapshotted data services the new release may have written, that is
 * those it started or whose dependents it started (the rest were never reached).
 */
export function dataTouched(
  model: EnvironmentModel,
  started: readonly string[],
  snapshotted: readonly string[],
): string[] {
  return dataAtRisk(model, started, snapshotted);
}

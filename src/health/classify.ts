/** What a container looks like to the waiter: the parts of `docker inspect` that matter. */
export interface ContainerSnapshot {
  readonly id: string;
  readonly service: string;
  readonly status: string; // created, running, restarting, exited, dead, paused, removing
  readonly health: 'starting' | 'healthy' | 'unhealthy' | undefined;
  readonly exitCode: number;
  readonly oomKilled: boolean;
  readonly restartCount: number;
  readonly startedAt: string;
  /** Docker's restart policy for it (no, always, unless-stopped, on-failure), when known. */
  readonly restartPolicy?: string;
}

export type ServiceState =
  | {
      readonly phase: 'starting';
      readonly detail: string;
      /** Look again after this long even if Docker reports nothing (a settle window ends). */
      readonly recheckAfterMs?: number;
    }
  | { readonly phase: 'ready'; readonly detail: string }
  | { readonly phase: 'failed'; readonly reason: FailureReason; readonly detail: string };

export type FailureReason =
  'unhealthy' | 'exited' | 'oom-killed' | 'crash-looping' | 'timeout' | 'unschedulable';

/**
 * A service without a healthcheck is ready once it has been running this long: a process that
 * dies at once on a bad configuration is then seen exiting, not reported ready (supervisord's
 * startsecs has the same default).
 */
export const SETTLE_MS = 1000;

/**
 * How long every service must stay ready once the last one became ready before a start counts as
 * done: a service that passes its healthcheck and dies a moment later is not up.
 */
export const STABLE_MS = 3000;

/** What Docker's die events said about each container while stackctl watched: exit codes, in order. */
export type Deaths = ReadonlyMap<string, readonly number[]>;

export interface ServiceExpectation {
  readonly kind: 'service' | 'job';
  readonly hasHealthcheck: boolean;
  /** Containers compose should run (replicas). */
  readonly replicas: number;
}

/**
 * Classifies a service from its containers. Terminal states (unhealthy, exited, killed for memory,
 * crash-looping) fail at once instead of burning the timeout. A job is ready when it exited 0.
 */
export function classifyService(
  expectation: ServiceExpectation,
  containers: readonly ContainerSnapshot[],
  restartsAtStart: ReadonlyMap<string, number>,
  now: number = Date.now(),
  deaths: Deaths = new Map(),
): ServiceState {
  if (expectation.replicas === 0) return { phase: 'ready', detail: 'scaled to 0 replicas' };
  if (containers.length === 0) return { phase: 'starting', detail: 'no container yet' };
  for (const container of containers) {
    if (container.oomKilled) {
      return {
        phase: 'failed',
        reason: 'oom-killed',
        detail: 'killed for using more memory than its limit (OOM)',
      };
    }
  }
  if (expectation.kind !== 'job') {
    // Evidence first: a process that died (die event) or was restarted while stackctl watched has
    // crashed, whatever its healthcheck says now. Inspect's exit code is reset once it restarts,
    // so the code comes from the die event when there is one.
    for (const container of containers) {
      const restarts = container.restartCount - (restartsAtStart.get(container.id) ?? container.restartCount);
      const codes = deaths.get(container.id) ?? [];
      const code = codes.at(-1) ?? container.exitCode;
      // Just after a crash, before Docker has restarted it, the container shows as exited: its
      // restart policy says whether it will be restarted, so the verdict does not hang on timing.
      const policy = container.restartPolicy ?? '';
      const willRestart =
        codes.length > 0 &&
        (policy === 'always' || policy === 'unless-stopped' || (policy === 'on-failure' && code !== 0));
      const restarting = container.status === 'restarting' || restarts > 0 || willRestart;
      if (codes.length === 0 && !restarting) continue;
      // Once restarted and running again, inspect shows exit code 0 whatever the process exited with.
      const exited =
        codes.length > 0
          ? `exited with code ${code} (Docker's die event)`
          : container.status === 'running'
            ? 'exited (its code was not seen: Docker had restarted it already)'
            : `exited with code ${code} (docker inspect)`;
      if (restarting) {
        const times = Math.max(restarts, 1);
        return {
          phase: 'failed',
          reason: 'crash-looping',
          detail:
            restarts === 0 && container.status !== 'restarting'
              ? `crash-looping: ${exited}, and its restart policy (${policy}) restarts it`
              : `crash-looping: ${exited} and was restarted ${times} time${times === 1 ? '' : 's'} by its restart policy`,
        };
      }
      return { phase: 'failed', reason: 'exited', detail: exited };
    }
  }
  if (expectation.kind === 'job') {
    const failed = containers.find((c) => (c.status === 'exited' || c.status === 'dead') && c.exitCode !== 0);
    if (failed)
      return { phase: 'failed', reason: 'exited', detail: `job exited with code ${failed.exitCode}` };
    if (containers.every((c) => c.status === 'exited' && c.exitCode === 0)) {
      return { phase: 'ready', detail: 'completed (exit 0)' };
    }
    const waiting = containers.every((c) => c.status === 'created');
    return { phase: 'starting', detail: waiting ? 'created, not started yet' : 'running' };
  }
  const exited = containers.find((c) => c.status === 'exited' || c.status === 'dead');
  if (exited) return { phase: 'failed', reason: 'exited', detail: `exited with code ${exited.exitCode}` };
  if (containers.some((c) => c.health === 'unhealthy')) {
    return { phase: 'failed', reason: 'unhealthy', detail: 'unhealthy: its healthcheck keeps failing' };
  }
  const running = containers.filter((c) => c.status === 'running');
  if (running.length < expectation.replicas) {
    return { phase: 'starting', detail: `${running.length}/${expectation.replicas} running` };
  }
  if (!expectation.hasHealthcheck || running.every((c) => c.health === undefined)) {
    const youngest = Math.max(...running.map((c) => Date.parse(c.startedAt) || 0));
    const settling = youngest + SETTLE_MS - now;
    if (settling > 0) return { phase: 'starting', detail: 'running', recheckAfterMs: settling };
    return { phase: 'ready', detail: 'running' };
  }
  if (running.every((c) => c.health === 'healthy')) return { phase: 'ready', detail: 'healthy' };
  return { phase: 'starting', detail: 'health: starting' };
}

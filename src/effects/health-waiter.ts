import type Docker from 'dockerode';
import { classifyService, type ServiceExpectation, type ServiceState } from '../health/classify.js';
import { earlyProbeDelayMs } from '../health/probe.js';
import {
  COMPOSE_PROJECT_LABEL,
  COMPOSE_SERVICE_LABEL,
  projectContainers,
  type ContainerSummary,
} from './containers.js';

export interface WaitTarget extends ServiceExpectation {
  readonly service: string;
  /** How long this service may take, from its healthcheck (start period + retries × interval + slack). */
  readonly budgetMs: number;
  /** The healthcheck command, which stackctl also runs itself while Docker's runs are far apart. */
  readonly probeCommand?: readonly string[];
  /** How often Docker itself runs the healthcheck while the service starts. */
  readonly dockerProbeEveryMs?: number;
}

export interface WaitResult {
  readonly service: string;
  readonly state: ServiceState;
  readonly elapsedMs: number;
  readonly containers: readonly ContainerSummary[];
}

export interface WaitOptions {
  /** Absolute time (ms since epoch) when waiting stops for everything (--timeout). */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  readonly onChange?: (service: string, state: ServiceState) => void;
  /**
   * Called once Docker's event stream is open, so nothing started from now on goes unseen; gets a
   * function that makes the waiter look at a service again (after starting its containers).
   */
  readonly onWaiting?: (refresh: (service: string) => void) => void;
  /**
   * When a service's budget starts (it was launched); undefined while it waits to be launched, so
   * time spent waiting for what it depends on is not charged to it. Default: when waiting began.
   */
  readonly launchedAt?: (service: string) => number | undefined;
  /**
   * Runs a healthcheck directly (docker exec). Docker's own runs while a service starts are
   * start_interval apart, or a whole interval on engines without it (API < 1.44); between them
   * stackctl runs the check itself (see earlyProbeDelayMs), and a pass counts as healthy, as it
   * does for Docker.
   */
  readonly probe?: (containerId: string, command: readonly string[]) => Promise<boolean>;
}

/** At most this many direct healthcheck runs at once, so probing never crowds out the services. */
const PROBES_IN_FLIGHT = 2;

/**
 * Waits until every target is ready, or one fails, reacting to Docker events (health_status, die,
 * oom, restart, start) and inspecting only then: no polling loop, no fixed sleeps. Returns one
 * result per target; waiting stops at the first failure.
 */
export async function waitForServices(
  docker: Docker,
  project: string,
  targets: readonly WaitTarget[],
  options: WaitOptions,
): Promise<WaitResult[]> {
  const started = Date.now();
  const results = new Map<string, WaitResult>();
  const restartsAtStart = new Map<string, number>();
  const byService = new Map(targets.map((target) => [target.service, target]));
  const pending = new Set(targets.map((target) => target.service));

  const events = (await docker.getEvents({
    filters: { type: ['container'], label: [`${COMPOSE_PROJECT_LABEL}=${project}`] },
  })) as NodeJS.ReadableStream & { destroy(): void };

  return new Promise<WaitResult[]>((resolve, reject) => {
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const probeTimers = new Map<string, NodeJS.Timeout>();
    const rechecks = new Set<NodeJS.Timeout>();
    let probesInFlight = 0;
    const queue = new Set<string>();
    let refreshing = false;

    const finish = (error?: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const probeTimer of probeTimers.values()) clearTimeout(probeTimer);
      for (const recheck of rechecks) clearTimeout(recheck);
      events.destroy();
      options.signal?.removeEventListener('abort', onAbort);
      if (error !== undefined)
        reject(error instanceof Error ? error : new Error('waiting failed', { cause: error }));
      else
        resolve(targets.map((target) => results.get(target.service) ?? timeoutResult(target, started, [])));
    };

    const refresh = async (service: string): Promise<void> => {
      const target = byService.get(service);
      if (!target || !pending.has(service)) return;
      // Not started yet: its containers still show how they were before (created, or stopped).
      if (options.launchedAt && options.launchedAt(service) === undefined) return;
      const containers = await projectContainers(docker, project, service);
      // A direct healthcheck run may have found it ready meanwhile; that verdict stands.
      if (!pending.has(service) || finished) return;
      for (const container of containers) {
        if (!restartsAtStart.has(container.id)) restartsAtStart.set(container.id, container.restartCount);
      }
      const state = classifyService(target, containers, restartsAtStart);
      const previous = results.get(service)?.state;
      results.set(service, { service, state, elapsedMs: Date.now() - started, containers });
      if (previous?.phase !== state.phase || previous.detail !== state.detail)
        options.onChange?.(service, state);
      if (state.phase === 'ready') pending.delete(service);
      if (state.phase === 'failed') {
        pending.delete(service);
        finish();
      }
      if (state.phase === 'starting') {
        scheduleProbe(service);
        if (state.recheckAfterMs !== undefined) {
          const recheck = setTimeout(() => enqueue(service), state.recheckAfterMs);
          rechecks.add(recheck);
        }
      }
    };

    // stackctl's own healthcheck runs for a starting service, each scheduled after the last.
    const scheduleProbe = (service: string): void => {
      const target = byService.get(service);
      const current = results.get(service);
      const container = current?.containers.find((c) => c.status === 'running');
      if (!options.probe || finished || probeTimers.has(service) || !target?.probeCommand) return;
      if (!container || target.replicas !== 1 || target.dockerProbeEveryMs === undefined) return;
      const age = Date.now() - Date.parse(container.startedAt);
      const delay = earlyProbeDelayMs(Number.isNaN(age) ? 0 : age, target.dockerProbeEveryMs);
      if (delay === undefined) return;
      const run = options.probe;
      const command = target.probeCommand;
      probeTimers.set(
        service,
        setTimeout(() => {
          if (finished || !pending.has(service)) return;
          if (probesInFlight >= PROBES_IN_FLIGHT) {
            probeTimers.delete(service);
            scheduleProbe(service);
            return;
          }
          probesInFlight += 1;
          void run(container.id, command)
            .then((passed) => {
              if (!passed || finished || !pending.has(service)) return;
              const state: ServiceState = { phase: 'ready', detail: 'healthy (checked directly)' };
              const containers = (results.get(service)?.containers ?? []).map((c) =>
                c.id === container.id ? { ...c, health: 'healthy' as const } : c,
              );
              results.set(service, { service, state, elapsedMs: Date.now() - started, containers });
              pending.delete(service);
              options.onChange?.(service, state);
              if (pending.size === 0) finish();
            })
            .finally(() => {
              probesInFlight -= 1;
              probeTimers.delete(service);
              if (!finished && pending.has(service)) scheduleProbe(service);
            });
        }, delay),
      );
    };

    // Serialise refreshes: events arrive in bursts and each refresh inspects containers.
    const drain = async (): Promise<void> => {
      if (refreshing) return;
      refreshing = true;
      try {
        while (queue.size > 0 && !finished) {
          const [service] = queue;
          queue.delete(service as string);
          await refresh(service as string);
        }
        if (!finished && pending.size === 0) finish();
        else if (!finished) armTimer();
      } catch (error) {
        finish(error);
      } finally {
        refreshing = false;
      }
    };
    const enqueue = (service: string): void => {
      queue.add(service);
      void drain();
    };

    const budgetEnd = (service: string): number => {
      const launched = options.launchedAt ? options.launchedAt(service) : started;
      return launched === undefined ? Infinity : launched + (byService.get(service)?.budgetMs ?? 0);
    };
    // Wake at the nearest budget or the deadline; a service past its budget has timed out.
    const armTimer = (): void => {
      clearTimeout(timer);
      const now = Date.now();
      const dueTimes = [...pending].map((service) => budgetEnd(service));
      const next = Math.min(options.deadline, ...dueTimes);
      timer = setTimeout(
        () => {
          const current = Date.now();
          for (const service of [...pending]) {
            const target = byService.get(service);
            if (!target) continue;
            if (current >= options.deadline || current >= budgetEnd(service)) {
              pending.delete(service);
              results.set(service, timeoutResult(target, started, results.get(service)?.containers ?? []));
              finish();
              return;
            }
          }
          armTimer();
        },
        Math.max(0, next - now),
      );
    };

    const onAbort = (): void => finish(options.signal?.reason ?? new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    let buffered = '';
    events.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        try {
          const event = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
          const service = event.Actor?.Attributes?.[COMPOSE_SERVICE_LABEL];
          if (service !== undefined && pending.has(service)) enqueue(service);
        } catch {
          // Not a JSON event line; ignore.
        }
      }
    });
    events.on('error', (error) => finish(error));

    for (const target of targets) queue.add(target.service);
    void drain();
    options.onWaiting?.(enqueue);
  });
}

function timeoutResult(
  target: WaitTarget,
  started: number,
  containers: readonly ContainerSummary[],
): WaitResult {
  return {
    service: target.service,
    state: {
      phase: 'failed',
      reason: 'timeout',
      detail: `not ready after ${Math.round((Date.now() - started) / 1000)}s`,
    },
    elapsedMs: Date.now() - started,
    containers,
  };
}

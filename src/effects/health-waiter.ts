import { COMPOSE_LABELS } from '../labels.js';
import type Docker from 'dockerode';
import { classifyService, type ServiceExpectation, type ServiceState } from '../health/classify.js';
import { earlyProbeDelayMs } from '../health/probe.js';
import { projectContainers, type ContainerSummary } from './containers.js';

export interface WaitTarget extends ServiceExpectation {
  readonly service: string;
  /** How long this service may take, from its healthcheck (start period + retries × interval + slack). */
  readonly budgetMs: number;
  /** How often Docker itself runs the healthcheck while the service starts. */
  readonly dockerProbeEveryMs?: number;
}

export interface WaitResult {
  readonly service: string;
  readonly state: ServiceState;
  readonly elapsedMs: number;
  /** When it was last classified (ms since epoch): for a ready service, when it became ready. */
  readonly at: number;
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
  readonly probe?: (containerId: string, command: readonly string[], everyMs: number) => Promise<boolean>;
  /**
   * Replay Docker's events from this moment (ms since epoch), so a container that died before the
   * event stream opened (while compose was still starting the stack) is still seen dying, with its
   * exit code. Default: from when waiting begins.
   */
  readonly since?: number;
}

/**
 * At most this many containers probed directly at once (each probe is one exec that runs the check in
 * a loop, mostly asleep), so probing never crowds out the services.
 */
const PROBES_IN_FLIGHT = 12;

/**
 * Waits until every target is ready, or one fails, reacting to Docker events (health_status, die,
 * oom, restart, start) and inspecting only then: no polling loop, no fixed sleeps. Returns one
 * result per target; waiting stops at the first failure.
 *
 * Longer than a function should be, on purpose: it is one event loop whose handlers (events, the
 * deadline, direct probes, abort) share its state (pending targets, timers, deaths, results) and
 * must settle it exactly once; split into functions, that state would be threaded through each by
 * hand and the settle-once rule spread over several places.
 */
// eslint-disable-next-line max-lines-per-function -- one event loop over shared state (see above)
export async function waitForServices(
  docker: Docker,
  project: string,
  targets: readonly WaitTarget[],
  options: WaitOptions,
): Promise<WaitResult[]> {
  const started = Date.now();
  const results = new Map<string, WaitResult>();
  const restartsAtStart = new Map<string, number>();
  const deaths = new Map<string, number[]>();
  const byService = new Map(targets.map((target) => [target.service, target]));
  const pending = new Set(targets.map((target) => target.service));

  const events = (await docker.getEvents({
    filters: { type: ['container'], label: [`${COMPOSE_LABELS.project}=${project}`] },
    // Seconds with a fraction: Docker reads the fraction, so nothing from before this moment replays.
    ...(options.since === undefined ? {} : { since: Math.floor(options.since) / 1000 }),
  })) as NodeJS.ReadableStream & { destroy(): void };

  // eslint-disable-next-line max-lines-per-function -- the event loop itself (see the function's comment)
  return new Promise<WaitResult[]>((resolve, reject) => {
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    /** Direct healthcheck loops, by container. */
    const probeTimers = new Map<string, NodeJS.Timeout>();
    /** Containers whose check passed when run directly, with the start it passed in. */
    const passedDirectly = new Map<string, string>();
    const rechecks = new Set<NodeJS.Timeout>();
    let probesInFlight = 0;
    const queue = new Set<string>();
    let refreshing = false;

    let timedOut = false;
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
        // Only a service whose own budget ran out has timed out; one never inspected because
        // another failed first is still starting, and is not blamed.
        resolve(
          targets.map(
            (target) =>
              results.get(target.service) ??
              (timedOut ? timeoutResult(target, started, []) : notInspected(target, started)),
          ),
        );
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
      const seen = withDirectPasses(containers);
      const state = classifyService(target, seen, restartsAtStart, Date.now(), deaths);
      const previous = results.get(service)?.state;
      results.set(service, {
        service,
        state,
        elapsedMs: Date.now() - started,
        at: Date.now(),
        containers: seen,
      });
      if (previous?.phase !== state.phase || previous.detail !== state.detail)
        options.onChange?.(service, state);
      if (state.phase === 'ready') pending.delete(service);
      if (state.phase === 'failed') {
        pending.delete(service);
        finish();
      }
      if (state.phase === 'starting') {
        scheduleProbes(service);
        if (state.recheckAfterMs !== undefined) {
          const recheck = setTimeout(() => enqueue(service), state.recheckAfterMs);
          rechecks.add(recheck);
        }
      }
    };

    // stackctl's own healthcheck runs, one loop per starting container (every replica: a service is
    // ready only when all of them are), each window scheduled after the last.
    const scheduleProbes = (service: string): void => {
      const current = results.get(service);
      for (const container of current?.containers ?? []) scheduleProbe(service, container.id);
    };
    const scheduleProbe = (service: string, containerId: string, delayMs = 0): void => {
      const target = byService.get(service);
      const container = results.get(service)?.containers.find((c) => c.id === containerId);
      // The container's own healthcheck: what compose resolved from every file, the user's overlay
      // included, which is what Docker runs too.
      const command = container?.healthcheck;
      if (!options.probe || finished || probeTimers.has(containerId) || !command) return;
      if (container.status !== 'running' || container.health === 'healthy') return;
      if (target?.dockerProbeEveryMs === undefined) return;
      const age = Date.now() - Date.parse(container.startedAt);
      const every = earlyProbeDelayMs(Number.isNaN(age) ? 0 : age, target.dockerProbeEveryMs);
      if (every === undefined) return;
      const run = options.probe;
      const startedAt = container.startedAt;
      probeTimers.set(
        containerId,
        // Each probe paces itself (a run every `every` ms, inside the container); windows follow
        // each other `every` ms apart.
        setTimeout(() => {
          if (finished || !pending.has(service)) return;
          if (probesInFlight >= PROBES_IN_FLIGHT) {
            probeTimers.delete(containerId);
            const retry = setTimeout(() => scheduleProbe(service, containerId), every);
            rechecks.add(retry);
            return;
          }
          probesInFlight += 1;
          void run(containerId, command, every)
            .then((passed) => {
              if (!passed || finished || !pending.has(service)) return;
              passedDirectly.set(containerId, startedAt);
              reclassifyProbed(service);
            })
            .finally(() => {
              probesInFlight -= 1;
              probeTimers.delete(containerId);
              if (!finished && pending.has(service) && !passedDirectly.has(containerId))
                scheduleProbe(service, containerId, every);
            });
        }, delayMs),
      );
    };
    // A container whose check passed directly counts as healthy, as it would once Docker ran it;
    // the service is ready when that makes every container healthy.
    const reclassifyProbed = (service: string): void => {
      const target = byService.get(service);
      const current = results.get(service);
      if (!target || !current) return;
      const containers = withDirectPasses(current.containers);
      const state = classifyService(target, containers, restartsAtStart, Date.now(), deaths);
      if (state.phase !== 'ready') return;
      const ready: ServiceState = { phase: 'ready', detail: 'healthy (checked directly)' };
      const at = Date.now();
      results.set(service, { service, state: ready, elapsedMs: at - started, at, containers });
      pending.delete(service);
      options.onChange?.(service, ready);
      if (pending.size === 0) finish();
    };
    const withDirectPasses = (containers: readonly ContainerSummary[]): ContainerSummary[] =>
      containers.map((c) =>
        c.status === 'running' && c.health === 'starting' && passedDirectly.get(c.id) === c.startedAt
          ? { ...c, health: 'healthy' as const }
          : c,
      );

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
              timedOut = true;
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

    onEvents(events, (event) => {
      recordDeath(deaths, event);
      const service = event.Actor?.Attributes?.[COMPOSE_LABELS.service];
      if (service !== undefined && pending.has(service)) enqueue(service);
    });
    events.on('error', (error) => finish(error));

    for (const target of targets) queue.add(target.service);
    void drain();
    options.onWaiting?.(enqueue);
  });
}

/** A container event as Docker's event stream sends it (the parts read here). */
interface DockerEvent {
  readonly Action?: string;
  readonly Actor?: { readonly ID?: string; readonly Attributes?: Record<string, string> };
}

/** Calls back with each event of Docker's event stream (one JSON document per line). */
function onEvents(events: NodeJS.ReadableStream, onEvent: (event: DockerEvent) => void): void {
  let buffered = '';
  events.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      let event: DockerEvent;
      try {
        event = JSON.parse(line) as DockerEvent;
      } catch {
        continue; // not a JSON event line
      }
      onEvent(event);
    }
  });
}

/** Keeps the exit code of a `die` event: after a restart, inspect no longer shows it. */
function recordDeath(deaths: Map<string, number[]>, event: DockerEvent): void {
  const id = event.Actor?.ID;
  if (event.Action !== 'die' || id === undefined) return;
  const code = Number(event.Actor?.Attributes?.['exitCode'] ?? NaN);
  deaths.set(id, [...(deaths.get(id) ?? []), Number.isNaN(code) ? -1 : code]);
}

function notInspected(target: WaitTarget, started: number): WaitResult {
  return {
    service: target.service,
    state: { phase: 'starting', detail: 'still starting when another service failed' },
    elapsedMs: Date.now() - started,
    at: Date.now(),
    containers: [],
  };
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
    at: Date.now(),
    containers,
  };
}

/**
 * A start is done only when every ready service has stayed ready for `stableMs` after the last one
 * became ready: one that passes its healthcheck and dies a moment later, or is restarted by its
 * restart policy, is a failure, not "up". Watches Docker's events until then (returning at the first
 * death), then inspects once more. Returns the results, with any service that went down failed.
 */
export async function confirmStable(
  docker: Docker,
  project: string,
  results: readonly WaitResult[],
  options: { stableMs: number; isJob: (service: string) => boolean; signal?: AbortSignal },
): Promise<WaitResult[]> {
  const watched = results.filter(
    (result) => result.state.phase === 'ready' && !options.isJob(result.service),
  );
  if (watched.length === 0) return [...results];
  const baseline = new Map(watched.flatMap((result) => result.containers.map((c) => [c.id, c.restartCount])));
  const until = Math.max(...watched.map((result) => result.at)) + options.stableMs;
  const deaths = new Map<string, number[]>();
  if (until > Date.now()) {
    const events = (await docker.getEvents({
      filters: { type: ['container'], label: [`${COMPOSE_LABELS.project}=${project}`] },
    })) as NodeJS.ReadableStream & { destroy(): void };
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        events.destroy();
        resolve();
      };
      const timer = setTimeout(done, until - Date.now());
      options.signal?.addEventListener('abort', done, { once: true });
      onEvents(events, (event) => {
        recordDeath(deaths, event);
        const id = event.Actor?.ID;
        if (id !== undefined && deaths.has(id) && baseline.has(id)) done();
      });
      events.on('error', done);
    });
    options.signal?.throwIfAborted();
  }
  const now = await projectContainers(docker, project);
  return results.map((result) => {
    if (!watched.includes(result)) return result;
    const ids = new Set(result.containers.map((c) => c.id));
    const containers = now.filter((c) => ids.has(c.id));
    const state =
      containers.length < ids.size
        ? ({
            phase: 'failed',
            reason: 'exited',
            detail: 'its container went away after it was ready',
          } as const)
        : classifyService(
            { kind: 'service', hasHealthcheck: false, replicas: containers.length },
            containers,
            baseline,
            Number.POSITIVE_INFINITY,
            deaths,
          );
    if (state.phase !== 'failed') return result;
    const detail = `${state.detail}, ${Math.round((Date.now() - result.at) / 100) / 10}s after it was ready`;
    return { ...result, state: { ...state, detail }, at: Date.now(), containers };
  });
}

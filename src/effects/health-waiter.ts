import type Docker from 'dockerode';
import { classifyService, type ServiceExpectation, type ServiceState } from '../health/classify.js';
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
  /** The healthcheck command, for engines that cannot probe early themselves (no start_interval). */
  readonly probeCommand?: readonly string[];
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
   * Engines without healthcheck start_interval (API < 1.44) first probe after a whole interval;
   * then stackctl runs each service's healthcheck itself this often, and a pass counts as healthy.
   */
  readonly probe?: {
    readonly everyMs: number;
    readonly run: (containerId: string, command: readonly string[]) => Promise<boolean>;
  };
}

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
    let probeTimer: NodeJS.Timeout | undefined;
    const queue = new Set<string>();
    let refreshing = false;

    const finish = (error?: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(probeTimer);
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
      const containers = await projectContainers(docker, project, service);
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

    // Wake at the nearest budget or the deadline; a service past its budget has timed out.
    const armTimer = (): void => {
      clearTimeout(timer);
      const now = Date.now();
      const dueTimes = [...pending].map((service) => started + (byService.get(service)?.budgetMs ?? 0));
      const next = Math.min(options.deadline, ...dueTimes);
      timer = setTimeout(
        () => {
          const current = Date.now();
          for (const service of [...pending]) {
            const target = byService.get(service);
            if (!target) continue;
            if (current >= options.deadline || current >= started + target.budgetMs) {
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

    const probe = options.probe;
    if (probe) {
      let probing = false;
      probeTimer = setInterval(() => {
        if (probing || finished) return;
        probing = true;
        void (async () => {
          for (const service of [...pending]) {
            const target = byService.get(service);
            const current = results.get(service);
            const container = current?.containers.find((c) => c.status === 'running');
            if (!target?.probeCommand || !container || current?.state.phase !== 'starting') continue;
            if (target.replicas !== 1 || !(await probe.run(container.id, target.probeCommand)) || finished)
              continue;
            const state: ServiceState = { phase: 'ready', detail: 'healthy (checked directly)' };
            results.set(service, {
              service,
              state,
              elapsedMs: Date.now() - started,
              containers: current.containers,
            });
            pending.delete(service);
            options.onChange?.(service, state);
          }
          if (!finished && pending.size === 0) finish();
        })().finally(() => {
          probing = false;
        });
      }, probe.everyMs);
    }

    for (const target of targets) queue.add(target.service);
    void drain();
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

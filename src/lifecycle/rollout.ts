// Rolling one service onto what compose's files and the engine's images say now, and waiting until
// it is healthy and stays so: stop-first (compose recreates it in place) or start-first (a new copy
// beside the old, the old removed once the new is ready). Used forwards by upgrade and backwards by
// rollback; the caller decides what the files and tags say.
import { projectContainers, retireContainer, type ContainerSummary } from '../effects/containers.js';
import { confirmStable, waitForServices, type WaitResult } from '../effects/health-waiter.js';
import { execProbeLoop } from '../effects/exec-probe.js';
import { StackctlError } from '../errors.js';
import type { ServiceState } from '../health/classify.js';
import { planStart, type WaitSpec } from '../plan/start.js';
import type { RolloutStrategy } from '../plan/upgrade.js';
import type { ComposeSession } from './compose-session.js';

/** How long a direct healthcheck loop runs per exec (as start's). */
const PROBE_WINDOW_MS = 10_000;

export interface RolloutTiming {
  /** The most any one service may take to be ready (the service's own budget, if smaller). */
  readonly timeoutMs: number;
  /** How long it must stay ready afterwards. */
  readonly settleMs: number;
}

export interface RolledService {
  readonly service: string;
  readonly strategy: RolloutStrategy;
  /** From the old copy stopping to the new one ready; 0 for start-first. */
  readonly downtimeMs: number;
  readonly elapsedMs: number;
}

/** The wait specs of the environment's services, from compose's configuration. */
export function waitSpecsOf(session: ComposeSession): Map<string, WaitSpec> {
  const plan = planStart(session.stack.file, session.model, session.baseArgs, {}, session.effective);
  return new Map(plan.waits.map((wait) => [wait.service, wait]));
}

/** Rolls `service` onto the current files and images, and waits for it; throws naming why it failed. */
export async function rollService(
  session: ComposeSession,
  service: string,
  strategy: RolloutStrategy,
  timing: RolloutTiming,
  signal: AbortSignal,
): Promise<RolledService> {
  const spec = waitSpecsOf(session).get(service);
  const started = Date.now();
  const old = (await projectContainers(session.docker, session.model.project, service)).filter(
    (container) => container.status === 'running',
  );
  if (strategy === 'start-first' && old.length > 0 && spec !== undefined) {
    const replicas = spec.replicas;
    await composeUp(
      session,
      ['--no-recreate', '--scale', `${service}=${String(replicas * 2)}`, service],
      signal,
    );
    try {
      await waitReady(session, { ...spec, replicas: replicas * 2 }, timing, signal, started);
    } catch (error) {
      await removeContainers(session, service, (container) => !old.some((o) => o.id === container.id));
      throw error;
    }
    await removeContainers(session, service, (container) => old.some((o) => o.id === container.id));
    return { service, strategy, downtimeMs: 0, elapsedMs: Date.now() - started };
  }
  await composeUp(session, [service], signal);
  if (spec) await waitReady(session, spec, timing, signal, started);
  const elapsedMs = Date.now() - started;
  return { service, strategy: 'stop-first', downtimeMs: old.length > 0 ? elapsedMs : 0, elapsedMs };
}

/** Stops and removes what a release added (a service the old one did not run). */
export async function removeService(
  session: ComposeSession,
  service: string,
  signal: AbortSignal,
): Promise<void> {
  const result = await session.compose(['rm', '--stop', '--force', service], { signal });
  if (result.exitCode !== 0)
    throw new StackctlError('E_RUNTIME', `could not remove ${service}: ${lastLine(result.output)}`);
}

async function composeUp(
  session: ComposeSession,
  args: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  const result = await session.compose(
    ['up', '--detach', '--no-deps', '--pull', 'never', '--no-build', ...args],
    { signal },
  );
  if (result.exitCode !== 0)
    throw new StackctlError('E_RUNTIME', `docker compose up failed: ${lastLine(result.output)}`);
}

async function waitReady(
  session: ComposeSession,
  spec: WaitSpec,
  timing: RolloutTiming,
  signal: AbortSignal,
  since: number,
): Promise<WaitResult> {
  const { docker, model } = session;
  const [result] = await waitForServices(
    docker,
    model.project,
    [
      {
        ...spec,
        budgetMs: Math.min(spec.budgetMs, timing.timeoutMs),
        dockerProbeEveryMs: spec.startIntervalMs,
      },
    ],
    {
      deadline: Date.now() + Math.min(spec.budgetMs, timing.timeoutMs),
      signal,
      since,
      probe: (id, command, everyMs) =>
        execProbeLoop(docker, id, command, { everyMs, forMs: PROBE_WINDOW_MS, timeoutMs: 5000 }),
    },
  );
  if (!result) throw new Error(`no wait result for ${spec.service}`);
  const [settled] =
    result.state.phase === 'ready'
      ? await confirmStable(docker, model.project, [result], {
          stableMs: timing.settleMs,
          isJob: () => spec.kind === 'job',
          signal,
        })
      : [result];
  signal.throwIfAborted();
  if (!settled || settled.state.phase !== 'ready')
    throw new StackctlError(
      'E_RUNTIME',
      `${spec.service} ${settled ? stateText(settled.state) : 'did not become ready'}`,
    );
  return settled;
}

async function removeContainers(
  session: ComposeSession,
  service: string,
  which: (container: ContainerSummary) => boolean,
): Promise<void> {
  const containers = (await projectContainers(session.docker, session.model.project, service)).filter(which);
  for (const container of containers) await retireContainer(session.docker, container.id, 10);
}

function stateText(state: ServiceState): string {
  return state.phase === 'failed' ? `${state.reason}: ${state.detail}` : `not ready: ${state.detail}`;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? 'no output';
}

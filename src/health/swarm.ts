// Where a swarm service stands, from its tasks: swarm reports a task "running" only once its
// container's healthcheck passed (a task with a healthcheck stays "starting" until then), so a
// service is ready when as many tasks run as it has replicas (a job: when one completed).
import { SETTLE_MS, type ServiceState } from './classify.js';

export interface TaskView {
  readonly state: string;
  /** When it reached that state (ms since epoch). */
  readonly since: number;
  readonly desiredState: string;
  readonly error?: string;
  readonly message?: string;
}

/** Failed tasks of one service after which it is failing, not starting (swarm retries forever). */
export const SWARM_FAILED_TASKS = 3;
/** How long a task may wait for a node before the service cannot be placed. */
export const UNSCHEDULABLE_MS = 5000;

const FAILED = new Set(['failed', 'rejected', 'orphaned']);

/** The state of a service from its tasks (newest first), its replicas and how long it has been waiting. */
export function classifySwarmService(
  tasks: readonly TaskView[],
  expectation: {
    replicas: number;
    job: boolean;
    restarts: boolean;
    /** Without one, a task must have run SETTLE_MS to count: one that dies at once is not up. */
    hasHealthcheck: boolean;
    waitedMs: number;
    budgetMs: number;
    now: number;
  },
): ServiceState {
  const running = tasks.filter(
    (task) =>
      task.state === 'running' &&
      task.desiredState === 'running' &&
      (expectation.hasHealthcheck || expectation.now - task.since >= SETTLE_MS),
  ).length;
  if (expectation.job) {
    if (tasks.some((task) => task.state === 'complete')) return { phase: 'ready', detail: 'completed' };
  } else if (running >= expectation.replicas) {
    return { phase: 'ready', detail: `${running}/${expectation.replicas} running` };
  }
  const failed = tasks.filter((task) => FAILED.has(task.state));
  const newest = tasks[0];
  // Without a restart policy swarm starts no other task: the first failure is the last.
  if (!expectation.restarts && newest !== undefined && FAILED.has(newest.state)) {
    return {
      phase: 'failed',
      reason: 'exited',
      detail: `its task ${newest.state} and swarm does not restart it: ${newest.error ?? newest.message ?? newest.state}`,
    };
  }
  if (failed.length >= SWARM_FAILED_TASKS) {
    const last = failed[0];
    return {
      phase: 'failed',
      reason: 'crash-looping',
      detail: `${failed.length} tasks failed; the last: ${last?.error ?? last?.message ?? last?.state}`,
    };
  }
  const unplaced = tasks.find(
    (task) => task.state === 'pending' && task.error !== undefined && /no suitable node/i.test(task.error),
  );
  if (unplaced && expectation.waitedMs >= UNSCHEDULABLE_MS)
    return { phase: 'failed', reason: 'unschedulable', detail: unplaced.error ?? 'no suitable node' };
  if (expectation.waitedMs >= expectation.budgetMs) {
    return {
      phase: 'failed',
      reason: 'timeout',
      detail: `${running}/${expectation.replicas} running after ${Math.round(expectation.budgetMs / 1000)}s${
        newest ? ` (newest task ${newest.state}${newest.error ? `: ${newest.error}` : ''})` : ''
      }`,
    };
  }
  return {
    phase: 'starting',
    detail: expectation.job
      ? `task ${newest?.state ?? 'not created yet'}`
      : `${running}/${expectation.replicas} running${newest && newest.state !== 'running' ? `, newest task ${newest.state}` : ''}`,
  };
}

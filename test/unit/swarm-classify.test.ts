// Where a swarm service stands, from its tasks (swarm reports a task running once its healthcheck passed).
import { describe, expect, it } from 'vitest';
import { SETTLE_MS } from '../../src/health/classify.js';
import {
  classifySwarmService,
  SWARM_FAILED_TASKS,
  UNSCHEDULABLE_MS,
  type TaskView,
} from '../../src/health/swarm.js';

const now = 1_000_000;
const task = (state: string, extra: Partial<TaskView> = {}): TaskView => ({
  state,
  desiredState: 'running',
  since: now - 5000,
  ...extra,
});
const expectation = {
  replicas: 2,
  job: false,
  restarts: true,
  hasHealthcheck: true,
  waitedMs: 1000,
  budgetMs: 60_000,
  now,
};

describe('classifySwarmService', () => {
  it('is ready once as many tasks run as it has replicas', () => {
    expect(classifySwarmService([task('running'), task('starting')], expectation).phase).toBe('starting');
    expect(classifySwarmService([task('running'), task('running')], expectation)).toEqual({
      phase: 'ready',
      detail: '2/2 running',
    });
  });

  it('counts a task without a healthcheck only once it has kept running for a moment', () => {
    const fresh = task('running', { since: now - SETTLE_MS / 2 });
    const single = { ...expectation, replicas: 1, hasHealthcheck: false };
    expect(classifySwarmService([fresh], single).phase).toBe('starting');
    expect(classifySwarmService([task('running')], single).phase).toBe('ready');
  });

  it('does not count tasks swarm is shutting down', () => {
    const leaving = task('running', { desiredState: 'shutdown' });
    expect(classifySwarmService([leaving, task('running')], expectation).phase).toBe('starting');
  });

  it('fails at the first failed task when swarm will not restart it', () => {
    const state = classifySwarmService([task('failed', { error: 'task: non-zero exit (3)' })], {
      ...expectation,
      restarts: false,
    });
    expect(state).toMatchObject({ phase: 'failed', reason: 'exited' });
    expect(state.detail).toContain('non-zero exit (3)');
  });

  it('calls a service whose tasks keep failing crash-looping', () => {
    const failed = Array.from({ length: SWARM_FAILED_TASKS }, () =>
      task('failed', { error: 'non-zero exit (1)' }),
    );
    expect(classifySwarmService([task('starting'), ...failed], expectation)).toMatchObject({
      phase: 'failed',
      reason: 'crash-looping',
    });
    expect(classifySwarmService(failed.slice(1), expectation).phase).toBe('starting');
  });

  it('fails a service no node can take, once it has waited a little', () => {
    const pending = task('pending', { error: 'no suitable node (insufficient resources on 1 node)' });
    expect(classifySwarmService([pending], expectation).phase).toBe('starting');
    expect(classifySwarmService([pending], { ...expectation, waitedMs: UNSCHEDULABLE_MS })).toMatchObject({
      phase: 'failed',
      reason: 'unschedulable',
      detail: 'no suitable node (insufficient resources on 1 node)',
    });
  });

  it('times out with what the newest task was doing', () => {
    const state = classifySwarmService([task('starting')], { ...expectation, waitedMs: 60_000 });
    expect(state).toMatchObject({ phase: 'failed', reason: 'timeout' });
    expect(state.detail).toContain('newest task starting');
  });

  it('takes a job as ready once one of its tasks completed', () => {
    const job = { ...expectation, replicas: 1, job: true };
    expect(classifySwarmService([task('running')], job).phase).toBe('starting');
    expect(classifySwarmService([task('complete')], job)).toEqual({ phase: 'ready', detail: 'completed' });
  });
});

import { describe, expect, it } from 'vitest';
import { classifyService, type ContainerSnapshot } from '../../src/health/classify.js';

const container = (overrides: Partial<ContainerSnapshot> = {}): ContainerSnapshot => ({
  id: 'c1',
  service: 'web',
  status: 'running',
  health: 'starting',
  exitCode: 0,
  oomKilled: false,
  restartCount: 0,
  startedAt: '2026-11-22T10:00:00Z',
  ...overrides,
});
const service = { kind: 'service' as const, hasHealthcheck: true, replicas: 1 };
const none = new Map<string, number>();

describe('classifyService', () => {
  it('waits while health is starting, and is ready when healthy', () => {
    expect(classifyService(service, [container()], none).phase).toBe('starting');
    expect(classifyService(service, [container({ health: 'healthy' })], none)).toEqual({
      phase: 'ready',
      detail: 'healthy',
    });
  });

  it('is ready at once when scaled to 0 replicas, and waits while there is no container yet', () => {
    expect(classifyService({ ...service, replicas: 0 }, [], none)).toEqual({
      phase: 'ready',
      detail: 'scaled to 0 replicas',
    });
    expect(classifyService(service, [], none)).toEqual({ phase: 'starting', detail: 'no container yet' });
  });

  it('says a job whose container is created but not started has not started yet', () => {
    const job = { kind: 'job' as const, hasHealthcheck: false, replicas: 1 };
    expect(classifyService(job, [container({ status: 'created', health: undefined })], none)).toEqual({
      phase: 'starting',
      detail: 'created, not started yet',
    });
  });

  it('without a healthcheck, counts a container as ready only after it has run for a second', () => {
    const plain = { ...service, hasHealthcheck: false };
    const started = Date.parse('2026-11-22T10:00:00Z');
    const young = container({ health: undefined });
    expect(classifyService(plain, [young], none, started + 300)).toEqual({
      phase: 'starting',
      detail: 'running',
      recheckAfterMs: 700,
    });
    expect(classifyService(plain, [young], none, started + 1000)).toEqual({
      phase: 'ready',
      detail: 'running',
    });
  });

  it('is ready when running if the service has no healthcheck', () => {
    const state = classifyService(
      { ...service, hasHealthcheck: false },
      [container({ health: undefined })],
      none,
    );
    expect(state).toEqual({ phase: 'ready', detail: 'running' });
  });

  it('fails at once on unhealthy, exit, OOM kill and crash loops', () => {
    expect(classifyService(service, [container({ health: 'unhealthy' })], none)).toMatchObject({
      phase: 'failed',
      reason: 'unhealthy',
    });
    expect(classifyService(service, [container({ status: 'exited', exitCode: 137 })], none)).toMatchObject({
      phase: 'failed',
      reason: 'exited',
      detail: 'exited with code 137',
    });
    expect(classifyService(service, [container({ status: 'exited', oomKilled: true })], none)).toMatchObject({
      reason: 'oom-killed',
    });
    expect(
      classifyService(service, [container({ status: 'restarting', restartCount: 5 })], new Map([['c1', 2]])),
    ).toMatchObject({
      reason: 'crash-looping',
      detail:
        'crash-looping: exited with code 0 (docker inspect) and was restarted 3 times by its restart policy',
    });
    // Restarts from before the wait began do not count.
    expect(classifyService(service, [container({ restartCount: 5 })], new Map([['c1', 5]])).phase).toBe(
      'starting',
    );
  });

  it('calls a crash a crash loop as soon as it dies when its restart policy will restart it', () => {
    // Seen between the die event and Docker's restart: exited for now, restarted next.
    const dead = container({ status: 'exited', exitCode: 3, restartPolicy: 'unless-stopped' });
    const died = new Map([['c1', [3]]]);
    expect(classifyService(service, [dead], new Map([['c1', 0]]), Date.now(), died)).toEqual({
      phase: 'failed',
      reason: 'crash-looping',
      detail:
        "crash-looping: exited with code 3 (Docker's die event), and its restart policy (unless-stopped) restarts it",
    });
    // on-failure restarts only a failure; no policy leaves it down: exited.
    expect(
      classifyService(
        service,
        [{ ...dead, restartPolicy: 'on-failure' }],
        new Map([['c1', 0]]),
        Date.now(),
        died,
      ),
    ).toMatchObject({ reason: 'crash-looping' });
    expect(
      classifyService(service, [{ ...dead, restartPolicy: 'no' }], new Map([['c1', 0]]), Date.now(), died),
    ).toMatchObject({ reason: 'exited' });
  });

  it('takes exit codes from die events, and counts one restart while watching as a crash loop', () => {
    // Restarted by its policy: inspect shows it running again, with exit code 0; the die event said 3.
    const restarted = container({ status: 'running', health: 'starting', restartCount: 1, exitCode: 0 });
    expect(
      classifyService(service, [restarted], new Map([['c1', 0]]), Date.now(), new Map([['c1', [3]]])),
    ).toEqual({
      phase: 'failed',
      reason: 'crash-looping',
      detail:
        "crash-looping: exited with code 3 (Docker's die event) and was restarted 1 time by its restart policy",
    });
    // Its healthcheck failing as a result does not hide the crash.
    expect(
      classifyService(
        service,
        [{ ...restarted, health: 'unhealthy' }],
        new Map([['c1', 0]]),
        Date.now(),
        new Map([['c1', [3, 3]]]),
      ),
    ).toMatchObject({ reason: 'crash-looping' });
    // Restarted and running again, no die event seen: inspect's 0 would be a lie.
    expect(classifyService(service, [restarted], new Map([['c1', 0]])).phase).toBe('failed');
    expect(classifyService(service, [restarted], new Map([['c1', 0]]))).toMatchObject({
      detail:
        'crash-looping: exited (its code was not seen: Docker had restarted it already) and was restarted 1 time by its restart policy',
    });
    // Died and stayed down: exited, with the die event's code.
    expect(
      classifyService(
        service,
        [container({ status: 'exited', exitCode: 1 })],
        none,
        Date.now(),
        new Map([['c1', [1]]]),
      ),
    ).toEqual({ phase: 'failed', reason: 'exited', detail: "exited with code 1 (Docker's die event)" });
    // A job's exit is its job, not a crash.
    const job = { kind: 'job' as const, hasHealthcheck: false, replicas: 1 };
    expect(
      classifyService(
        job,
        [container({ status: 'exited', exitCode: 0 })],
        none,
        Date.now(),
        new Map([['c1', [0]]]),
      ),
    ).toMatchObject({ phase: 'ready' });
  });

  it('waits for every replica', () => {
    const replicated = { ...service, replicas: 2 };
    expect(classifyService(replicated, [container({ health: 'healthy' })], none)).toMatchObject({
      phase: 'starting',
      detail: '1/2 running',
    });
    expect(
      classifyService(
        replicated,
        [container({ health: 'healthy' }), container({ id: 'c2', health: 'healthy' })],
        none,
      ).phase,
    ).toBe('ready');
  });

  it('waits on a job for exit 0, and fails it on any other code', () => {
    const job = { kind: 'job' as const, hasHealthcheck: false, replicas: 1 };
    expect(classifyService(job, [container({ health: undefined })], none).phase).toBe('starting');
    expect(classifyService(job, [container({ status: 'exited', exitCode: 0 })], none)).toEqual({
      phase: 'ready',
      detail: 'completed (exit 0)',
    });
    expect(classifyService(job, [container({ status: 'exited', exitCode: 2 })], none)).toMatchObject({
      phase: 'failed',
      detail: 'job exited with code 2',
    });
  });
});

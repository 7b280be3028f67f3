// Walking the start graph: containers created step by step, each service started the moment what
// it waits for is met, every service watched at once until ready or failed.
import type Docker from 'dockerode';
import { StackctlError } from '../errors.js';
import {
  inspectContainer,
  listServiceContainers,
  startableContainers,
  startContainers,
} from '../effects/containers.js';
import { execProbeLoop } from '../effects/exec-probe.js';
import { waitForServices, type WaitResult } from '../effects/health-waiter.js';
import type { LoadedStack } from '../model/stack.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { CreateStep } from '../plan/start.js';
import type { PreparedGeneration } from './generation.js';
import { CreationLedger } from './creation.js';
import { JobLedger } from './jobs.js';
import { GraphLauncher } from './launcher.js';
import { PendingRotations } from './pending-rotations.js';
import type { StackTracker } from './start-tracker.js';
import type { PlannedLaunch, StartIo, StartRequest, StartView } from './start-types.js';

/** How long one direct healthcheck loop runs inside a container before the next one starts. */
const PROBE_WINDOW_MS = 3000;

/**
 * Creates the containers (the first group, then the rest while the first start) and walks the graph:
 * each service starts through the Docker API the moment what it waits for is met, and the waiter
 * watches every service at once. Returns a result per service; waiting stops at the first failure.
 */
/** What walking the graph works with: the start so far, and how to reach compose and Docker. */
export interface GraphRun {
  readonly stack: LoadedStack;
  readonly model: EnvironmentModel;
  readonly planned: PlannedLaunch;
  readonly prepared: PreparedGeneration;
  readonly request: StartRequest;
  readonly docker: Docker;
  /** Runs a compose up and fails the start with compose's output when it fails. */
  readonly upOrFail: (args: readonly string[], what: string) => Promise<void>;
  readonly io: StartIo;
  readonly view: StartView;
  readonly tracker: StackTracker;
}

export async function launchGraph(graphRun: GraphRun): Promise<WaitResult[]> {
  const { stack, model, planned, prepared, request, docker, upOrFail, io, view, tracker } = graphRun;
  const { plan } = planned;
  const jobs = await JobLedger.open(stack.root, model.name, plan, async (id) => {
    const container = await inspectContainer(docker, id);
    return container?.status === 'exited' ? container.exitCode : undefined;
  });
  const creations = await CreationLedger.open(
    stack.root,
    model.name,
    docker,
    model.project,
    planned.creation,
  );
  const rotations = new PendingRotations(stack.root, stack.file, model, prepared, docker, io, view);
  await rotations.load();
  const launchFailed = new AbortController();
  const launcher = new GraphLauncher(plan.graph, {
    start: (service) => {
      tracker.launched(service);
      return startContainers(docker, service, startable.get(service) ?? []);
    },
    whenReady: async (service) => {
      await rotations.applyFor(service);
      rotations.checkFor(service, (error) => launchFailed.abort(error));
    },
    onError: (error) => launchFailed.abort(error),
  });
  const since = Date.now();
  const startable = new Map<string, string[]>();
  // Jobs that completed earlier in the container compose kept are not run again.
  const doneEarlier = new Set<string>();
  const create = async (step: CreateStep): Promise<void> => {
    tracker.created(step.services);
    let listed = await creations.unchanged(step);
    if (listed === undefined) {
      tracker.creating(step.services);
      await upOrFail(step.args, model.name).finally(() => tracker.creating([]));
      listed = await listServiceContainers(docker, model.project);
      await creations.ran(step, listed);
    }
    // Listed once per step: starting a service is then one API call per container.
    for (const [service, ids] of startableContainers(listed)) startable.set(service, ids);
    const done = await jobs.completedAmong(step.services, listed);
    for (const job of done) doneEarlier.add(job);
    launcher.markDone(done);
    launcher.markCreated(step.services);
  };
  // The waiter opens Docker's event stream while the first containers are created; launches wait
  // for the containers either way (markCreated).
  const [firstStep, ...laterSteps] = plan.create;
  const launching = view.launching(() => tracker.counts());
  const firstCreated = firstStep ? create(firstStep) : Promise.resolve();
  // The rest is created while the first services start.
  const rest = firstCreated.then(async () => {
    for (const step of laterSteps) await create(step);
  });
  rest.catch((error: unknown) => launchFailed.abort(error));

  const targets = plan.waits.map((wait) => ({
    ...wait,
    dockerProbeEveryMs: planned.legacyEngine ? wait.intervalMs : wait.startIntervalMs,
  }));
  const probe =
    io.env['STACKCTL_PROBE_HEALTH'] === '0'
      ? undefined
      : (id: string, command: readonly string[], everyMs: number) =>
          execProbeLoop(docker, id, command, { everyMs, forMs: PROBE_WINDOW_MS, timeoutMs: 5000 });
  const stackOf = new Map(plan.graph.map((node) => [node.service, node.stack]));
  const waited = waitForServices(docker, model.project, targets, {
    deadline: Date.now() + request.timeoutMs,
    since,
    signal: AbortSignal.any([io.signal, launchFailed.signal]),
    probe,
    launchedAt: launcher.launchedAt,
    onChange: (service, state) => {
      launcher.observe(service, state);
      const stackName = stackOf.get(service) ?? '';
      const stackDone = state.phase === 'ready' && tracker.ready(service);
      view.serviceChanged(service, state, tracker.counts());
      if (stackDone) view.stackReady(stackName, tracker.counts());
    },
    onWaiting: (refresh) => launcher.begin(refresh),
  });
  waited.catch(() => undefined); // awaited below, after the first containers exist
  let results: WaitResult[];
  try {
    await firstCreated.catch(() => undefined); // a failure ends the wait (launchFailed)
    results = await waited;
    await rotations.settled();
    if (launchFailed.signal.aborted) throw launchFailed.signal.reason;
  } catch (error) {
    // A launch or a creation that failed ended the wait: that is the failure.
    if (!launchFailed.signal.aborted || io.signal.aborted) throw error;
    const reason = launchFailed.signal.reason as Error;
    if (reason instanceof StackctlError) throw reason;
    throw new StackctlError('E_RUNTIME', reason.message, {
      hint: `the stack is left as it is: stackctl status ${model.name}; stop it with: stackctl stop ${model.name}`,
    });
  } finally {
    launcher.stop();
    launching?.stop();
  }
  await rest.catch(() => undefined);
  await jobs.record(results);
  return results.map((result) =>
    doneEarlier.has(result.service) && result.state.phase === 'ready'
      ? { ...result, state: { phase: 'ready', detail: 'completed earlier (unchanged)' }, elapsedMs: 0, at: 0 }
      : result,
  );
}

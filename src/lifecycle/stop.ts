import type Docker from 'dockerode';
import { stopContainerReporting, type ContainerSummary, type StopReport } from '../effects/containers.js';
import { LABELS } from '../labels.js';
import { launchGraph, stopGraph } from '../plan/start.js';
import type { StackFile } from '../schema/types.js';
import { dependencyNames } from '../schema/values.js';

export interface StopOptions {
  /** Seconds each container gets before it is killed; default: its own stop timeout. */
  readonly seconds?: number;
  readonly signal?: AbortSignal;
  readonly onStopping?: (service: string, containers: readonly ContainerSummary[]) => void;
  readonly onStopped?: (stopped: StoppedContainer) => void;
}

/** One container stopped: how long it took, and whether Docker had to kill it. */
export interface StoppedContainer {
  readonly name: string;
  readonly service: string;
  readonly elapsedMs: number;
  readonly exitCode?: number;
  /** Killed with SIGKILL after its grace period; `why` says what most likely kept it from exiting. */
  readonly killed?: { readonly graceSeconds: number; readonly why: string };
}

/**
 * Docker kills a container that is still running when its grace period ends: exit 137 (128 + 9)
 * after at least that long. A shell as PID 1 is the usual reason: the kernel gives PID 1 no default
 * signal action, so `sh -c` neither exits on SIGTERM nor passes it to its child.
 */
export function stopOutcome(container: ContainerSummary, report: StopReport): StoppedContainer {
  const base = {
    name: container.name,
    service: container.service,
    elapsedMs: report.elapsedMs,
    ...(report.exitCode === undefined ? {} : { exitCode: report.exitCode }),
  };
  const killed =
    report.exitCode === 137 &&
    report.stopSignal !== 'SIGKILL' &&
    report.stopSignal !== '9' &&
    report.elapsedMs >= report.graceSeconds * 1000 - 250;
  if (!killed) return base;
  if (report.graceSeconds === 0)
    return { ...base, killed: { graceSeconds: 0, why: 'no grace period was given (-t 0)' } };
  const [program = '', first] = report.command;
  const shell = /(^|\/)(sh|bash|ash|dash)$/.test(program) && first === '-c' && !report.init;
  const why = shell
    ? `PID 1 is \`${program} -c\`, which neither exits on ${report.stopSignal} nor passes it on: exec the program in its command, or set init: true`
    : `it did not exit within ${report.graceSeconds}s of ${report.stopSignal}: give it longer (-t, or stop_grace_period), or make it handle ${report.stopSignal}`;
  return { ...base, killed: { graceSeconds: report.graceSeconds, why } };
}

/**
 * Stops running containers in the start graph's reverse: a service stops once everything that waits
 * for it (its dependents, and the stacks that depend on its stack) has stopped; independent parts
 * stop side by side. Returns how each container stopped.
 */
export async function stopInGraphOrder(
  docker: Docker,
  file: StackFile,
  containers: readonly ContainerSummary[],
  options: StopOptions = {},
): Promise<StoppedContainer[]> {
  const running = containers.filter((c) => c.status === 'running' || c.status === 'restarting');
  const services = [...new Set(running.map((c) => c.service))];
  const before = stopBefore(file, services, running);
  const stopped: StoppedContainer[] = [];
  const done = new Map<string, Promise<void>>();
  const stop = (service: string): Promise<void> => {
    let pending = done.get(service);
    if (pending) return pending;
    pending = (async () => {
      await Promise.all((before.get(service) ?? []).map(stop));
      options.signal?.throwIfAborted();
      const group = running.filter((c) => c.service === service);
      options.onStopping?.(service, group);
      await Promise.all(
        group.map(async (c) => {
          const outcome = stopOutcome(c, await stopContainerReporting(docker, c.id, options.seconds));
          stopped.push(outcome);
          options.onStopped?.(outcome);
        }),
      );
    })();
    done.set(service, pending);
    return pending;
  };
  await Promise.all(services.map(stop));
  return stopped;
}

/** For each running service, the services that must stop before it. */
function stopBefore(
  file: StackFile,
  services: readonly string[],
  running: readonly ContainerSummary[],
): Map<string, string[]> {
  const stackOf = (service: string): string =>
    file.services[service]?.stack ?? running.find((c) => c.service === service)?.labels[LABELS.stack] ?? '';
  const inputs = services.map((service) => {
    const definition = file.services[service];
    return {
      service,
      stack: stackOf(service),
      dependsOn: definition
        ? dependencyNames(definition).map((name) => ({
            service: name,
            condition: 'service_started' as const,
          }))
        : [],
    };
  });
  try {
    return stopGraph(launchGraph(file.stacks, inputs));
  } catch {
    // A cycle (a schema edited since this was started): stop everything at once rather than never.
    return new Map();
  }
}

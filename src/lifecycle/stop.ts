import type Docker from 'dockerode';
import { stopContainer, type ContainerSummary } from '../effects/containers.js';
import { LABELS } from '../labels.js';
import { launchGraph, stopGraph } from '../plan/start.js';
import type { StackFile } from '../schema/types.js';
import { dependencyNames } from '../schema/values.js';

export interface StopOptions {
  /** Seconds each container gets before it is killed; default: its own stop timeout. */
  readonly seconds?: number;
  readonly signal?: AbortSignal;
  readonly onStopping?: (service: string, containers: readonly ContainerSummary[]) => void;
  readonly onStopped?: (container: ContainerSummary) => void;
}

/**
 * Stops running containers in the start graph's reverse: a service stops once everything that waits
 * for it (its dependents, and the stacks that depend on its stack) has stopped; independent parts
 * stop side by side. Returns the names stopped.
 */
export async function stopInGraphOrder(
  docker: Docker,
  file: StackFile,
  containers: readonly ContainerSummary[],
  options: StopOptions = {},
): Promise<string[]> {
  const running = containers.filter((c) => c.status === 'running' || c.status === 'restarting');
  const services = [...new Set(running.map((c) => c.service))];
  const before = stopBefore(file, services, running);
  const stopped: string[] = [];
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
          await stopContainer(docker, c.id, options.seconds);
          stopped.push(c.name);
          options.onStopped?.(c);
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

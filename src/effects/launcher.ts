import type Docker from 'dockerode';
import type { ServiceState } from '../health/classify.js';
import type { LaunchDependency } from '../plan/start.js';
import { serviceContainerLabels } from './containers.js';
import { dockerReason, dockerStatusCode } from './docker.js';

/** A container that Docker refused to start, with Docker's reason. */
export class LaunchError extends Error {
  constructor(
    readonly service: string,
    reason: string,
  ) {
    super(`${service} could not be started: ${reason}`);
  }
}

/**
 * Starts the containers of one step, already created by `docker compose up --no-start`, through the
 * Docker API: each service as soon as what it depends on within the step is met (started, healthy or
 * completed, as the waiter reports). This is what compose's own start does, minus its half-second
 * polling of dependencies, and with no compose process on the critical path.
 */
export class StepLauncher {
  private readonly launching = new Set<string>();
  /** When each service's containers were started (its budget starts then). */
  private readonly launched = new Map<string, number>();
  private readonly ready = new Set<string>();
  private refresh: (service: string) => void = () => undefined;
  private stopped = false;

  constructor(
    private readonly docker: Docker,
    private readonly project: string,
    private readonly after: Readonly<Record<string, readonly LaunchDependency[]>>,
    private readonly onError: (error: Error) => void,
  ) {}

  /**
   * Starts every service that waits for nothing in this step. `refresh` asks the waiter to look at
   * a service again: called once its containers are started.
   */
  begin(refresh: (service: string) => void): void {
    this.refresh = refresh;
    this.launchWhatIsDue();
  }

  /** Feeds the waiter's view of a service; launches what was waiting for it. */
  observe(service: string, state: ServiceState): void {
    if (state.phase === 'ready') this.ready.add(service);
    this.launchWhatIsDue();
  }

  /**
   * When a service's containers were started, or undefined while they are not: until then what
   * the waiter would see is the state from before (a stopped container), not this start.
   */
  readonly launchedAt = (service: string): number | undefined => this.launched.get(service);

  /** No more launches (waiting has ended). */
  stop(): void {
    this.stopped = true;
  }

  private launchWhatIsDue(): void {
    if (this.stopped) return;
    for (const [service, dependencies] of Object.entries(this.after)) {
      if (this.launching.has(service) || !dependencies.every((dep) => this.isMet(dep))) continue;
      this.launching.add(service);
      void this.startService(service).then(
        () => {
          this.launched.set(service, Date.now());
          this.refresh(service);
          this.launchWhatIsDue();
        },
        (error: unknown) => {
          if (this.stopped) return;
          this.stopped = true;
          this.onError(error instanceof Error ? error : new Error(String(error)));
        },
      );
    }
  }

  private isMet(dependency: LaunchDependency): boolean {
    if (dependency.condition === 'service_started') return this.launched.has(dependency.service);
    return this.ready.has(dependency.service);
  }

  private async startService(service: string): Promise<void> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: serviceContainerLabels(this.project, service) },
    });
    await Promise.all(
      containers
        .filter((container) => container.State !== 'running')
        .map(async (container) => {
          try {
            await this.docker.getContainer(container.Id).start();
          } catch (error) {
            if (dockerStatusCode(error) === 304) return; // already started
            throw new LaunchError(service, dockerReason(error));
          }
        }),
    );
  }
}

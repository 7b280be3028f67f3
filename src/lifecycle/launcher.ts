import type { ServiceState } from '../health/classify.js';
import { waitsMet, type LaunchNode } from '../plan/start.js';

export interface LaunchActions {
  /** Starts a service's containers (through the Docker API: no compose process on the critical path). */
  readonly start: (service: string) => Promise<void>;
  /**
   * Runs once a service is ready, before anything waiting for it is started (rotated passwords are
   * applied then); the service counts as ready for the graph only once it resolves.
   */
  readonly whenReady?: (service: string) => Promise<void>;
  readonly onError: (error: Error) => void;
}

/**
 * Walks the start graph: starts each service the moment its containers exist and everything it waits
 * for is met (started, healthy, completed or ready, as the waiter reports). What compose's own start
 * does within one project, minus its half-second polling of dependencies, across stacks too.
 */
export class GraphLauncher {
  private readonly created = new Set<string>();
  private readonly launching = new Set<string>();
  /** When each service's containers were started (its budget starts then). */
  private readonly launched = new Map<string, number>();
  private readonly ready = new Set<string>();
  private readonly readying = new Set<string>();
  private refresh: (service: string) => void = () => undefined;
  private begun = false;
  private stopped = false;

  constructor(
    private readonly graph: readonly LaunchNode[],
    private readonly actions: LaunchActions,
  ) {}

  /** These services' containers exist now (compose created them); they start once what they wait for is met. */
  markCreated(services: readonly string[]): void {
    for (const service of services) this.created.add(service);
    this.launchWhatIsDue();
  }

  /**
   * Services with nothing to do (jobs that completed earlier in the container compose kept): started
   * and ready; the waiter is asked to look at them (it finds them exited 0).
   */
  markDone(services: readonly string[]): void {
    for (const service of services) {
      this.launching.add(service);
      this.launched.set(service, Date.now());
      this.ready.add(service);
      this.refresh(service);
    }
    this.launchWhatIsDue();
  }

  /**
   * Starts launching. `refresh` asks the waiter to look at a service again: called once its
   * containers are started.
   */
  begin(refresh: (service: string) => void): void {
    this.refresh = refresh;
    this.begun = true;
    this.launchWhatIsDue();
  }

  /** Feeds the waiter's view of a service; launches what was waiting for it. */
  observe(service: string, state: ServiceState): void {
    if (state.phase !== 'ready' || this.ready.has(service) || this.readying.has(service)) return;
    this.readying.add(service);
    const whenReady = this.actions.whenReady?.(service) ?? Promise.resolve();
    whenReady.then(
      () => {
        this.ready.add(service);
        this.launchWhatIsDue();
      },
      (error: unknown) => this.fail(error),
    );
  }

  /**
   * When a service's containers were started, or undefined while they are not: until then what
   * the waiter would see is the state from before (a stopped container), not this start.
   */
  readonly launchedAt = (service: string): number | undefined => this.launched.get(service);

  /** Whether a service's containers were started or are being started. */
  isLaunched(service: string): boolean {
    return this.launching.has(service);
  }

  /** No more launches (waiting has ended). */
  stop(): void {
    this.stopped = true;
  }

  private launchWhatIsDue(): void {
    if (this.stopped || !this.begun) return;
    for (const node of this.graph) {
      const { service } = node;
      if (this.launching.has(service) || !this.created.has(service)) continue;
      const seen = { launched: (s: string) => this.launched.has(s), ready: (s: string) => this.ready.has(s) };
      if (!waitsMet(node, seen)) continue;
      this.launching.add(service);
      this.actions.start(service).then(
        () => {
          this.launched.set(service, Date.now());
          this.refresh(service);
          this.launchWhatIsDue();
        },
        (error: unknown) => this.fail(error),
      );
    }
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.actions.onError(error instanceof Error ? error : new Error(String(error)));
  }
}

import type { ListedServiceContainer } from '../effects/containers.js';
import type { WaitResult } from '../effects/health-waiter.js';
import { readCompletedJobs, writeCompletedJobs, type CompletedJobs } from '../effects/state.js';
import type { StartPlan } from '../plan/start.js';

/** A job container's exit code, or undefined when it is gone or has not exited. */
type ExitCodeOf = (containerId: string) => Promise<number | undefined>;

/**
 * One-shot jobs that completed (exit 0) are not run again while their container is the one that
 * completed: compose recreates a container whose configuration changed, so after a create step the
 * same container means the same configuration, and a start of a healthy stack stays a no-op.
 * Completions are recorded in .stackctl/jobs-<env>.json with the job's container.
 */
export class JobLedger {
  private constructor(
    private readonly root: string,
    private readonly envName: string,
    private readonly jobs: readonly string[],
    private readonly recorded: CompletedJobs,
    private readonly exitCodeOf: ExitCodeOf,
  ) {}

  static async open(
    root: string,
    envName: string,
    plan: StartPlan,
    exitCodeOf: ExitCodeOf,
  ): Promise<JobLedger> {
    const jobs = plan.waits.filter((wait) => wait.kind === 'job').map((wait) => wait.service);
    return new JobLedger(root, envName, jobs, { ...(await readCompletedJobs(root, envName)) }, exitCodeOf);
  }

  /** The jobs among these services, just created (or confirmed) by compose, that need not run again. */
  async completedAmong(
    services: readonly string[],
    listed: readonly ListedServiceContainer[],
  ): Promise<string[]> {
    const done = await Promise.all(
      services
        .filter((service) => this.jobs.includes(service))
        .map(async (job) => {
          const mine = listed.filter((container) => container.service === job);
          const only = mine.length === 1 ? mine[0] : undefined;
          const finished =
            only !== undefined &&
            only.id === this.recorded[job]?.containerId &&
            only.state === 'exited' &&
            (await this.exitCodeOf(only.id)) === 0;
          return finished ? [job] : [];
        }),
    );
    return done.flat();
  }

  /** Records the jobs among these results that completed. */
  async record(results: readonly WaitResult[]): Promise<void> {
    let changed = false;
    for (const result of results) {
      const job = result.containers.length === 1 ? result.containers[0] : undefined;
      if (!this.jobs.includes(result.service) || result.state.phase !== 'ready' || !job) continue;
      if (this.recorded[result.service]?.containerId === job.id) continue;
      this.recorded[result.service] = { containerId: job.id };
      changed = true;
    }
    if (changed) await writeCompletedJobs(this.root, this.envName, this.recorded);
  }
}

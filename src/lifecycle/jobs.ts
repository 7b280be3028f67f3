import type { ComposeRun } from '../effects/compose-runner.js';
import type { ContainerSummary } from '../effects/containers.js';
import type { WaitResult } from '../effects/health-waiter.js';
import { readCompletedJobs, writeCompletedJobs, type CompletedJobs } from '../effects/state.js';
import type { StartPlan } from '../plan/start.js';

interface JobLookups {
  /** `docker compose config --hash` for these services. */
  readonly hashes: (services: readonly string[]) => Promise<Map<string, string>>;
  /** The environment's containers as they are now. */
  readonly containers: () => Promise<ContainerSummary[]>;
}

/**
 * One-shot jobs that completed (exit 0) with the configuration compose would use now are not run
 * again, so a start of a healthy stack stays a no-op. Completions are recorded in
 * .stackctl/jobs-<env>.json with the job's config hash and container.
 */
export class JobLedger {
  private hashes: Promise<Map<string, string>> | undefined;
  private completed: Promise<WaitResult[]> | undefined;

  private constructor(
    private readonly root: string,
    private readonly envName: string,
    private readonly jobs: readonly string[],
    private readonly recorded: CompletedJobs,
    private readonly lookups: JobLookups,
  ) {}

  static async open(root: string, envName: string, plan: StartPlan, lookups: JobLookups): Promise<JobLedger> {
    const jobs = plan.waits.filter((wait) => wait.kind === 'job').map((wait) => wait.service);
    return new JobLedger(root, envName, jobs, { ...(await readCompletedJobs(root, envName)) }, lookups);
  }

  /** The jobs among these services that need not run again, as results. */
  async completedAmong(services: readonly string[]): Promise<WaitResult[]> {
    if (!services.some((service) => this.jobs.includes(service))) return [];
    // Asked when services with jobs are first created, not before: it is a compose run of its own.
    this.hashes ??= this.lookups.hashes(this.jobs);
    const hashes = this.hashes;
    this.completed ??= hashes.then(async (known) =>
      completedJobs(this.jobs, known, this.recorded, await this.lookups.containers()),
    );
    return (await this.completed).filter((result) => services.includes(result.service));
  }

  /** Records the jobs among these results that completed now. */
  async record(results: readonly WaitResult[]): Promise<void> {
    const hashes = (await this.hashes) ?? new Map<string, string>();
    let changed = false;
    for (const result of results) {
      const hash = hashes.get(result.service);
      const job = result.containers.length === 1 ? result.containers[0] : undefined;
      if (hash !== undefined && result.state.phase === 'ready' && job) {
        this.recorded[result.service] = { configHash: hash, containerId: job.id };
        changed = true;
      }
    }
    if (changed) await writeCompletedJobs(this.root, this.envName, this.recorded);
  }
}

/** `docker compose config --hash` for these services: the configuration compose would run them with now. */
export async function configHashes(
  run: (args: readonly string[]) => Promise<ComposeRun>,
  baseArgs: readonly string[],
  services: readonly string[],
): Promise<Map<string, string>> {
  const result = await run([...baseArgs, 'config', '--hash', services.join(',')]);
  if (result.exitCode !== 0) return new Map();
  return new Map(
    result.output
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((parts) => parts.length === 2)
      .map(([service, hash]) => [service ?? '', hash ?? '']),
  );
}

/**
 * Jobs that finished (exit 0) in an earlier start with the configuration compose would
 * use now, in the same container: nothing to redo, so a start of a healthy stack stays a no-op.
 */
function completedJobs(
  jobs: readonly string[],
  hashes: ReadonlyMap<string, string>,
  recorded: CompletedJobs,
  containers: readonly ContainerSummary[],
): WaitResult[] {
  return jobs.flatMap((job) => {
    const mine = containers.filter((c) => c.service === job);
    const record = recorded[job];
    const only = mine.length === 1 ? mine[0] : undefined;
    const finished =
      record !== undefined &&
      record.configHash === hashes.get(job) &&
      only !== undefined &&
      only.id === record.containerId &&
      only.status === 'exited' &&
      only.exitCode === 0;
    if (!finished) return [];
    return [
      {
        service: job,
        state: { phase: 'ready' as const, detail: 'completed earlier (unchanged)' },
        elapsedMs: 0,
        at: 0,
        containers: mine,
      },
    ];
  });
}

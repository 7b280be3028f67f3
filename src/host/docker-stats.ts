// A container's CPU and memory use from one answer of Docker's stats endpoint
// (GET /containers/{id}/stats?stream=false), computed as `docker stats` computes them: CPU from the
// two samples Docker returns (cpu_stats and precpu_stats, about a second apart), memory without the
// page cache the kernel can drop (inactive_file). Pure: tested on real answers.

export interface ResourceUsage {
  /** Percent of one CPU (200 = two cores busy); null when Docker gave no second sample. */
  readonly cpuPercent: number | null;
  /** Memory in use, without reclaimable page cache; null for a stopped container. */
  readonly memoryBytes: number | null;
  /** The container's memory limit (the host's memory when it has none). */
  readonly memoryLimitBytes: number | null;
}

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

interface StatsAnswer {
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

export function usageOf(answer: unknown): ResourceUsage {
  const stats = (answer ?? {}) as StatsAnswer;
  return {
    cpuPercent: cpuPercentOf(stats.cpu_stats, stats.precpu_stats),
    memoryBytes: memoryOf(stats.memory_stats),
    memoryLimitBytes: stats.memory_stats?.limit ?? null,
  };
}

function cpuPercentOf(now: CpuStats | undefined, before: CpuStats | undefined): number | null {
  const total = now?.cpu_usage?.total_usage;
  const previous = before?.cpu_usage?.total_usage;
  const system = now?.system_cpu_usage;
  const previousSystem = before?.system_cpu_usage;
  if (total === undefined || previous === undefined || system === undefined || previousSystem === undefined)
    return null;
  const cpuDelta = total - previous;
  const systemDelta = system - previousSystem;
  if (systemDelta <= 0 || cpuDelta < 0) return null;
  const cpus = now?.online_cpus ?? now?.cpu_usage?.percpu_usage?.length ?? 1;
  return Math.round((cpuDelta / systemDelta) * cpus * 1000) / 10;
}

/** cgroup v1: usage minus total_inactive_file; cgroup v2: usage minus inactive_file (as docker stats). */
function memoryOf(memory: StatsAnswer['memory_stats']): number | null {
  const usage = memory?.usage;
  if (usage === undefined) return null;
  const stats = memory?.stats ?? {};
  const inactive = stats['total_inactive_file'] ?? stats['inactive_file'] ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

/**
 * Use between two single-sample answers of the same container (one-shot stats, asked a refresh
 * apart): CPU from the difference of the two, memory from the newer.
 */
export function usageBetween(before: unknown, now: unknown): ResourceUsage {
  const previous = (before ?? {}) as StatsAnswer;
  return usageOf({ ...((now ?? {}) as StatsAnswer), precpu_stats: previous.cpu_stats });
}

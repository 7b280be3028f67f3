// A start that fails must not hide what it took down: every service that ran before it and does
// not run after it is named, with whether compose recreated it and why it was not started again.
import type { FailureReason } from '../health/classify.js';
import type { LaunchNode } from './start.js';
import { compareText } from '../text.js';

export interface ContainerState {
  readonly id: string;
  readonly service: string;
  /** Docker's state: running, created, exited... */
  readonly state: string;
}

export interface LeftDown {
  readonly service: string;
  /** Its container now (created after a recreate, exited after a stop). */
  readonly state: string;
  /** compose replaced the container that ran before. */
  readonly recreated: boolean;
  readonly because: string;
}

const FAILURE_WORDS: Record<FailureReason, string> = {
  unhealthy: 'is unhealthy',
  exited: 'exited',
  'oom-killed': 'was killed for memory',
  'crash-looping': 'keeps restarting',
  timeout: 'did not become ready in time',
  unschedulable: 'could not be scheduled',
};

/** The services running before the start that are not running after it. Pure. */
export function servicesLeftDown(
  graph: readonly LaunchNode[],
  before: readonly ContainerState[],
  after: readonly ContainerState[],
  failure: { readonly service: string; readonly reason: FailureReason },
  ready: ReadonlySet<string>,
): LeftDown[] {
  const ranBefore = new Set(before.filter((c) => c.state === 'running').map((c) => c.service));
  const runsNow = new Set(after.filter((c) => c.state === 'running').map((c) => c.service));
  const nodes = new Map(graph.map((node) => [node.service, node]));
  const out: LeftDown[] = [];
  for (const service of ranBefore) {
    if (runsNow.has(service) || service === failure.service) continue;
    const oldIds = new Set(before.filter((c) => c.service === service).map((c) => c.id));
    const now = after.filter((c) => c.service === service);
    const recreated = now.length > 0 && now.every((c) => !oldIds.has(c.id));
    out.push({
      service,
      state: now[0]?.state ?? 'removed',
      recreated,
      because: blockedBy(service, nodes, failure, ready),
    });
  }
  return out.sort((a, b) => compareText(a.service, b.service));
}

/** Why a service was not started: the failure it waits for, or the dependency not ready yet. */
function blockedBy(
  service: string,
  nodes: ReadonlyMap<string, LaunchNode>,
  failure: { readonly service: string; readonly reason: FailureReason },
  ready: ReadonlySet<string>,
): string {
  const failed = `${failure.service} ${FAILURE_WORDS[failure.reason]}`;
  const seen = new Set<string>();
  const waitsOnFailure = (name: string): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    return (nodes.get(name)?.waitsFor ?? []).some(
      (dep) => dep.service === failure.service || waitsOnFailure(dep.service),
    );
  };
  if (waitsOnFailure(service)) return `it waits for ${failure.service}, and ${failed}`;
  const pending = (nodes.get(service)?.waitsFor ?? []).find((dep) => !ready.has(dep.service));
  if (pending)
    return `${pending.service}, which it waits for, was not ready when the start stopped (${failed})`;
  return `the start stopped when ${failed}, before its turn`;
}

/** `nginx: recreated, not started: it waits for search-engine, and search-engine is unhealthy`. */
export function describeLeftDown(entry: LeftDown): string {
  const what = entry.recreated ? 'recreated, not started' : `left ${entry.state}`;
  return `${entry.service}: ${what}: ${entry.because}`;
}

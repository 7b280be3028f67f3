// Which stacks of a start are ready and which are under way: for progress and for the line an
// interrupted start leaves.
import { StackctlError } from '../errors.js';
import type { StartPlan } from '../plan/start.js';
import type { StartCounts } from './start-types.js';

/** Which stacks are ready, and which are created or partly started: for progress and an interrupted start. */
export class StackTracker {
  private readonly total: number;
  private readonly readySet = new Set<string>();
  private readonly touched = new Set<string>();
  private readonly servicesOf = new Map<string, string[]>();
  private readonly stackOf = new Map<string, string>();
  private readonly order: string[];
  private readonly services: readonly string[];
  private readonly launchedSet = new Set<string>();
  private creatingNow: readonly string[] = [];

  constructor(
    plan: StartPlan,
    private readonly since: number,
  ) {
    this.total = plan.graph.length;
    this.services = plan.graph.map((node) => node.service);
    for (const node of plan.graph) {
      this.stackOf.set(node.service, node.stack);
      this.servicesOf.set(node.stack, [...(this.servicesOf.get(node.stack) ?? []), node.service]);
    }
    this.order = [...this.servicesOf.keys()];
  }

  created(services: readonly string[]): void {
    for (const service of services) this.touched.add(this.stackOf.get(service) ?? '');
  }

  launched(service: string): void {
    this.touched.add(this.stackOf.get(service) ?? '');
    this.launchedSet.add(service);
  }

  /** The services compose is creating now (none once it is done). */
  creating(services: readonly string[]): void {
    this.creatingNow = services;
  }

  /** Marks a service ready; true when that made its whole stack ready. */
  ready(service: string): boolean {
    if (this.readySet.has(service)) return false;
    this.readySet.add(service);
    const stack = this.stackOf.get(service) ?? '';
    return (this.servicesOf.get(stack) ?? []).every((name) => this.readySet.has(name));
  }

  readyStacks(): string[] {
    return this.order.filter((stack) =>
      (this.servicesOf.get(stack) ?? []).every((s) => this.readySet.has(s)),
    );
  }

  /** Stacks created or partly started, not yet ready. */
  starting(): string[] {
    const ready = this.readyStacks();
    return this.order.filter((stack) => this.touched.has(stack) && !ready.includes(stack));
  }

  counted(): string {
    return `${this.readySet.size}/${this.total} ready`;
  }

  counts(): StartCounts {
    const pending = this.services.filter((service) => !this.readySet.has(service));
    return {
      ready: this.readySet.size,
      total: this.total,
      elapsedMs: Date.now() - this.since,
      starting: this.starting(),
      phase:
        this.creatingNow.length > 0
          ? 'creating'
          : pending.some((service) => !this.launchedSet.has(service))
            ? 'starting'
            : 'waiting',
      creating: this.creatingNow,
      pending,
    };
  }
}

/** The one line Ctrl-C during start leaves: what is up, what is partly there, and how to stop it. */
export function interruptedStart(envName: string, tracker: StackTracker): StackctlError {
  const ready = tracker.readyStacks();
  const partly = tracker.starting();
  const parts: string[] = [];
  if (ready.length > 0) parts.push(`${ready.join(', ')} ${ready.length === 1 ? 'is' : 'are'} up`);
  if (partly.length > 0) parts.push(`${partly.join(', ')} partly created or started`);
  const left = parts.length === 0 ? 'nothing was started' : parts.join('; ');
  return new StackctlError('E_INTERRUPTED', `start of ${envName} interrupted: ${left}`, {
    hint: parts.length === 0 ? '' : `stop what runs with: stackctl stop ${envName}`,
  });
}

/**
 * How a service waits for another before it starts: compose's depends_on conditions, and stackctl's
 * own `service_ready` for the stacks a stack depends on (healthy, running without a healthcheck, or a
 * job completed, as the waiter judges it).
 */
export type LaunchCondition =
  'service_started' | 'service_healthy' | 'service_completed_successfully' | 'service_ready';

export interface LaunchDependency {
  readonly service: string;
  readonly condition: LaunchCondition;
}

// What compose will really run: the configuration `docker compose config --format json` resolves
// from every file, the user's compose/local.override.yml included. Start plans its waits from this,
// not from the schema, so an overlay that changes replicas or healthchecks is what stackctl expects.
import { LABELS } from '../labels.js';
import type { LaunchCondition, LaunchDependency } from './dependencies.js';

/** One service as compose resolved it (only what start needs). */
export interface EffectiveService {
  readonly replicas: number;
  /** Undefined when the service has no healthcheck (none set, or disabled). */
  readonly healthcheck?: EffectiveHealthcheck;
  readonly dependsOn: readonly LaunchDependency[];
  readonly restart: string;
  /** From the io.stackctl.kind label: a job runs once and must exit 0. */
  readonly kind: 'service' | 'job';
  /** The image reference, when one is named (a service with only a build has none). */
  readonly image?: string;
  readonly pullPolicy?: string;
  /** Built from a context (build:), not only pulled. */
  readonly build: boolean;
  /** The build context as compose resolved it (an absolute path, or a URL). */
  readonly buildContext?: string;
  /** Host ports it publishes (a second copy could not bind them beside the first). */
  readonly publishesPorts: boolean;
  /** It reserves GPUs (a second copy may not fit beside the first). */
  readonly gpu: boolean;
}

export interface EffectiveHealthcheck {
  readonly test: readonly string[];
  /** Compose durations ("1m0s", "250ms"), as compose printed them. */
  readonly interval?: string;
  readonly timeout?: string;
  readonly startPeriod?: string;
  readonly startInterval?: string;
  readonly retries?: number;
}

interface RawService {
  deploy?: {
    replicas?: number;
    resources?: { reservations?: { devices?: { capabilities?: string[][] | string[] }[] } | null } | null;
  } | null;
  build?: unknown;
  ports?: { published?: string | number }[] | null;
  scale?: number;
  healthcheck?: {
    test?: string[] | string;
    disable?: boolean;
    interval?: string;
    timeout?: string;
    start_period?: string;
    start_interval?: string;
    retries?: number;
  } | null;
  depends_on?: Record<string, { condition?: string }> | null;
  restart?: string;
  labels?: Record<string, string> | null;
  image?: string;
  pull_policy?: string;
}

const CONDITIONS: readonly LaunchCondition[] = [
  'service_started',
  'service_healthy',
  'service_completed_successfully',
];

/** The services of a `docker compose config --format json` document (profiles already applied). */
export function parseEffectiveConfig(document: unknown): Map<string, EffectiveService> {
  const services = (document as { services?: Record<string, RawService> } | null)?.services ?? {};
  const out = new Map<string, EffectiveService>();
  for (const [name, raw] of Object.entries(services)) {
    const check = raw.healthcheck;
    const test = typeof check?.test === 'string' ? ['CMD-SHELL', check.test] : (check?.test ?? []);
    const hasHealthcheck = check != null && check.disable !== true && test.length > 0 && test[0] !== 'NONE';
    out.set(name, {
      replicas: raw.deploy?.replicas ?? raw.scale ?? 1,
      ...(hasHealthcheck
        ? {
            healthcheck: {
              test,
              ...(check.interval === undefined ? {} : { interval: check.interval }),
              ...(check.timeout === undefined ? {} : { timeout: check.timeout }),
              ...(check.start_period === undefined ? {} : { startPeriod: check.start_period }),
              ...(check.start_interval === undefined ? {} : { startInterval: check.start_interval }),
              ...(check.retries === undefined ? {} : { retries: check.retries }),
            },
          }
        : {}),
      dependsOn: Object.entries(raw.depends_on ?? {}).map(([service, options]) => ({
        service,
        condition: CONDITIONS.find((condition) => condition === options.condition) ?? 'service_started',
      })),
      restart: raw.restart ?? 'no',
      kind: raw.labels?.[LABELS.kind] === 'job' ? 'job' : 'service',
      ...(raw.image ? { image: raw.image } : {}),
      ...(raw.pull_policy ? { pullPolicy: raw.pull_policy } : {}),
      build: raw.build !== undefined && raw.build !== null,
      ...(typeof (raw.build as { context?: unknown } | null | undefined)?.context === 'string'
        ? { buildContext: (raw.build as { context: string }).context }
        : {}),
      publishesPorts: (raw.ports ?? []).some((port) => port.published !== undefined && port.published !== ''),
      gpu: (raw.deploy?.resources?.reservations?.devices ?? []).some((device) =>
        JSON.stringify(device.capabilities ?? []).includes('gpu'),
      ),
    });
  }
  return out;
}

// The shape of `docker compose config --format json`, as far as the cluster renderers read it.
// Compose writes it ready to be read again: a literal $ is written $$.
import type { EnvironmentModel } from '../model/environment.js';

export interface ComposeVolumeMount {
  readonly type: string;
  readonly source?: string;
  readonly target: string;
  readonly read_only?: boolean;
}

export interface ComposePort {
  readonly target: number;
  readonly published?: string | number;
  readonly protocol?: string;
  readonly host_ip?: string;
  readonly mode?: string;
}

export interface ComposeResources {
  readonly cpus?: string | number;
  readonly memory?: string | number;
}

export interface ComposeService {
  readonly [key: string]: unknown;
  readonly image?: string;
  readonly command?: readonly string[] | null;
  readonly entrypoint?: readonly string[] | null;
  readonly environment?: Readonly<Record<string, string | null>> | null;
  readonly healthcheck?: Readonly<Record<string, unknown>> | null;
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly networks?: Readonly<Record<string, unknown>> | null;
  readonly ports?: readonly ComposePort[] | null;
  readonly expose?: readonly (string | number)[] | null;
  readonly volumes?: readonly ComposeVolumeMount[] | null;
  readonly deploy?: {
    readonly replicas?: number;
    readonly resources?: { readonly limits?: ComposeResources; readonly reservations?: ComposeResources };
  } | null;
  readonly restart?: string;
  readonly scale?: number;
  readonly depends_on?: Readonly<Record<string, { condition?: string }>> | null;
}

export interface ComposeDocument {
  readonly services?: Readonly<Record<string, ComposeService>>;
  readonly networks?: Readonly<Record<string, { name?: string; labels?: Record<string, string> }>>;
  readonly volumes?: Readonly<
    Record<string, { name?: string; labels?: Record<string, string>; external?: boolean }>
  >;
}

/**
 * The services of compose's effective configuration a cluster runs: all of them (a user's overlay
 * may add some) but those the environment lists and its model left out (a GPU monitor under a
 * profile without GPUs, which compose keeps at 0 replicas).
 */
export function servicesToRun(
  effective: unknown,
  model: EnvironmentModel,
): [name: string, service: ComposeService][] {
  const running = new Set(model.services.map((service) => service.name));
  return Object.entries(asComposeDocument(effective).services ?? {}).filter(
    ([name]) => running.has(name) || !model.definition.services.includes(name),
  );
}

export function asComposeDocument(value: unknown): ComposeDocument {
  return value !== null && typeof value === 'object' ? value : {};
}

/** A string of compose's output as the program will see it ($$ is a literal $). */
export function unescapeCompose(text: string): string {
  return text.replaceAll('$$', '$');
}

export function replicasOf(service: ComposeService): number {
  return service.deploy?.replicas ?? service.scale ?? 1;
}

/** The secret variable whose value this is, exactly; undefined for any other value. */
export function secretHolding(value: string, secrets: ReadonlyMap<string, string>): string | undefined {
  for (const [variable, secret] of secrets) if (secret !== '' && secret === value) return variable;
  return undefined;
}

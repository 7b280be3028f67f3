/** What Docker holds, as the wipe planner sees it. */
export interface Inventory {
  readonly containers: readonly {
    id: string;
    name: string;
    labels: Labels;
    volumes: readonly string[];
    state: string;
  }[];
  readonly volumes: readonly { name: string; labels: Labels; sizeBytes: number | undefined }[];
  readonly networks: readonly { id: string; name: string; labels: Labels; containers: readonly string[] }[];
  /** Swarm services, secrets and configs carrying this project's stackctl label (none without a swarm). */
  readonly swarm: readonly SwarmObject[];
  /** Every other container on the engine (not this project's): what they mount, by volume name. */
  readonly others: readonly { id: string; name: string; volumes: readonly string[] }[];
}
export type Labels = Readonly<Record<string, string>>;

export interface SwarmObject {
  readonly kind: 'service' | 'secret' | 'config';
  readonly id: string;
  readonly name: string;
  readonly labels: Labels;
}

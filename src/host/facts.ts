import type { HostPath } from '../model/host-paths.js';
import type { DiskUsageRow } from './disk-usage.js';
import type { GpuDetection } from './gpus.js';

/** What the host offers, gathered once by the probes and read by the pure preflight checks. */
export interface HostFacts {
  readonly docker: DockerFacts;
  /** Undefined when the environment needs no GPU and none was asked for. */
  readonly gpus: GpuFacts | undefined;
  /**
   * Memory where the containers will run. For a daemon on this machine, what is available now; for a
   * daemon on another host (tcp://, ssh://), only its total is known (availableBytes is undefined).
   */
  readonly memory: { readonly totalBytes: number; readonly availableBytes: number | undefined } | undefined;
  readonly disk:
    { readonly path: string; readonly freeBytes: number } | { readonly path: string; readonly error: string };
  readonly ports: readonly PortProbe[];
  readonly dockerNetworks: readonly DockerNetworkFact[] | undefined;
  /** Destinations of host routes and the networks of host interfaces, as CIDRs. */
  readonly hostNetworks: readonly { readonly cidr: string; readonly via: string; readonly iface: string }[];
  readonly diskUsage: readonly DiskUsageRow[] | { readonly error: string } | undefined;
  /** vm.max_map_count; undefined when it cannot be read (not Linux). */
  readonly maxMapCount: number | undefined;
  /** NVIDIA CDI specs found under /etc/cdi or /var/run/cdi. */
  readonly nvidiaCdi: boolean;
  /** The bind-mounted files and folders and the build contexts the environment needs. */
  readonly hostPaths: readonly HostPathFact[];
  /** PostgreSQL init scripts the environment mounts, and whether the service's image can run them. */
  readonly initScripts: readonly InitScriptFact[];
}

/** An SQL file mounted into /docker-entrypoint-initdb.d, and the extensions it creates. */
export interface InitScriptFact {
  readonly service: string;
  readonly path: string;
  readonly image: string;
  readonly extensions: readonly string[];
  /** Of those, the ones the image lacks; undefined when the image is not on the engine to look into. */
  readonly missing: readonly string[] | undefined;
}

export interface HostPathFact extends HostPath {
  readonly exists: boolean;
  /** A missing cache folder (./models) or stackctl's metrics folder: start creates it, preflight does not. */
  readonly cache: boolean;
  /** It is the folder stackctl writes its own metrics into (.stackctl/metrics). */
  readonly stackctlMetrics?: boolean;
  /** For a build with an image named: whether that image is on the engine already. */
  readonly imagePresent?: boolean;
}

export type DockerFacts = {
  readonly cli: { readonly found: boolean; readonly version: string | null };
  readonly host: string;
  readonly compose: { readonly flavour: 'v2' | 'v1'; readonly version: string } | null;
  readonly daemon:
    | {
        readonly reachable: true;
        readonly serverVersion: string;
        readonly apiVersion: string;
        readonly dataRoot: string;
        readonly runtimes: readonly string[];
        readonly defaultRuntime: string;
        /** Memory of the daemon's host (docker info MemTotal). */
        readonly memTotalBytes: number | undefined;
      }
    | { readonly reachable: false; readonly error: string };
};

export type GpuFacts =
  | { readonly ok: true; readonly detection: GpuDetection; readonly freeMiB: ReadonlyMap<number, number> }
  | { readonly ok: false; readonly message: string; readonly fix: string };

export interface PortProbe {
  readonly service: string;
  readonly hostIp: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  /** own: held by this environment's own running containers, so not a conflict. */
  readonly status: 'free' | 'in-use' | 'own' | 'error';
  /** The process holding the port, when the host tells. */
  readonly holder?: string;
  /** The container publishing the port, when a container does (docker-proxy is only its agent). */
  readonly holderContainer?: PortHolderContainer;
  readonly error?: string;
}

export interface PortHolderContainer {
  readonly name: string;
  readonly composeProject: string | undefined;
  /** Its stackctl project and environment, when stackctl started it. */
  readonly stackctlProject: string | undefined;
  readonly environment: string | undefined;
}

export interface DockerNetworkFact {
  readonly id: string;
  readonly name: string;
  readonly subnets: readonly string[];
  /** The compose project (or swarm stack) the network belongs to, when compose or a stack deploy made it. */
  readonly project: string | undefined;
}

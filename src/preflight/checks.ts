import type { DockerNetworkFact, HostFacts, PortProbe } from '../host/facts.js';
import { reclaimableShare } from '../host/disk-usage.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { GpuMode, LayoutChoice } from '../plan/gpu-layout.js';
import { cidrsOverlap, parseCidr, type Cidr } from '../schema/cidr.js';
import { walkStrings } from '../schema/rules/walk.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One preflight finding: what was checked, how it went, and how to fix it. */
export interface Check {
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly fix: string;
}

export interface PreflightInput {
  readonly model: EnvironmentModel;
  readonly facts: HostFacts;
  /** The GPU mode asked for (--gpu, the recorded choice, or the environment's profile). */
  readonly gpuMode: GpuMode;
  /** The layout for this host; undefined when no GPU is needed or GPU detection failed. */
  readonly layout: LayoutChoice | undefined;
  /** The caller generates the environment's files next (start): a missing generated config file is fine. */
  readonly generatesFiles?: boolean;
}

/** Free disk an environment needs unless it says otherwise (diskMinimumGb). */
export const DEFAULT_DISK_MINIMUM_GB = 20;
export const RECLAIMABLE_WARN_SHARE = 0.3;
/** Below this, reclaimable space is not worth a warning whatever its share (2 MB of 4 MB is 50%). */
export const RECLAIMABLE_WARN_BYTES = 1e9;
export const ELASTICSEARCH_MAX_MAP_COUNT = 262_144;
/** Docker API version that supports healthcheck start_interval (Engine 25). */
export const START_INTERVAL_API = '1.44';

/** Every check for one environment on one host. Pure: the facts were gathered beforehand. */
export function preflightChecks(input: PreflightInput): Check[] {
  return [
    ...dockerChecks(input),
    ...gpuChecks(input),
    ...hostChecks(input),
    ...portChecks(input),
    ...networkChecks(input),
    ...workloadChecks(input),
    ...hostPathChecks(input),
    ...initScriptChecks(input),
  ];
}

/** A PostgreSQL init script creates extensions the service's image must have. */
function initScriptChecks({ facts }: PreflightInput): Check[] {
  return facts.initScripts.map((script): Check => {
    const id = `extensions.${script.service}`;
    const names = script.extensions.join(', ');
    if (script.missing === undefined)
      return {
        id,
        status: 'warn',
        message: `${script.image} is not on this engine yet, so whether it has ${names} (created by ${script.path}) is not known`,
        fix: `pull it first (docker pull ${script.image}), then preflight again`,
      };
    if (script.missing.length > 0)
      return {
        id,
        status: 'fail',
        message: `${script.image} has no ${script.missing.join(', ')} extension, which ${script.path} creates: PostgreSQL would stop at its first start`,
        fix: `run ${script.service} from an image that has it (pgvector/pgvector:pg16 for vector), in the schema or compose/local.override.yml`,
      };
    return pass(id, `${script.image} has the extensions ${script.path} creates (${names})`);
  });
}

/**
 * Every bind-mounted file and folder and every build context must exist: Docker silently creates a
 * folder where a missing file should be mounted, and the service then fails in a way that says
 * nothing about why. Cache folders (./models) were created by the probe.
 */
function hostPathChecks({ model, facts, generatesFiles }: PreflightInput): Check[] {
  const checks: Check[] = [];
  const paths = facts.hostPaths.filter((entry) => !(generatesFiles === true && entry.kind === 'config'));
  for (const entry of paths) {
    const id = `paths.${entry.service}`;
    if (entry.exists) continue;
    if (entry.cache) {
      checks.push(
        pass(id, `${entry.path} (a cache folder of ${entry.service}) does not exist yet: start creates it`),
      );
      continue;
    }
    if (entry.kind === 'build' && entry.imagePresent === true) {
      checks.push(
        pass(
          id,
          `${entry.path}: build context of ${entry.service} is missing; compose uses ${entry.image ?? 'its image'}, present on this engine`,
        ),
      );
      continue;
    }
    if (entry.kind === 'build') {
      checks.push({
        id,
        status: 'fail',
        message:
          entry.image === undefined
            ? `${entry.path}: build context of ${entry.service} is missing`
            : `${entry.path}: build context of ${entry.service} is missing, and ${entry.image} is not on this engine to use instead`,
        fix:
          entry.image === undefined
            ? `clone the service's code there, or give ${entry.service} an image in compose/local.override.yml (image: NAME, and build: !reset null)`
            : `clone the service's code there, or pull or load ${entry.image} (docker pull ${entry.image})`,
      });
      continue;
    }
    if (entry.kind === 'config') {
      checks.push({
        id,
        status: 'fail',
        message: `${entry.path}: the ${entry.service} config file stackctl generates for ${model.name} is missing`,
        fix: `run \`stackctl generate ${model.name}\``,
      });
      continue;
    }
    const file = /\.[A-Za-z0-9]+$/.test(entry.path);
    checks.push({
      id,
      status: 'fail',
      message: `${entry.path} (mounted into ${entry.service}${entry.target ? ` at ${entry.target}` : ''}) does not exist${file ? ': Docker would mount an empty folder in its place' : ''}`,
      fix: file
        ? `create ${entry.path} with the configuration ${entry.service} expects, or drop the mount in compose/local.override.yml`
        : `create ${entry.path} with what ${entry.service} expects there, or drop the mount in compose/local.override.yml`,
    });
  }
  const missing = paths.filter(
    (entry) => !entry.exists && !entry.cache && !(entry.kind === 'build' && entry.imagePresent === true),
  ).length;
  if (missing === 0 && paths.length > 0)
    checks.push(
      pass(
        'paths',
        `the ${paths.length} bind mounts, config files and build contexts of ${model.name} exist`,
      ),
    );
  return checks;
}

function pass(id: string, message: string): Check {
  return { id, status: 'pass', message, fix: '' };
}

function dockerChecks({ facts }: PreflightInput): Check[] {
  const { docker } = facts;
  const checks: Check[] = [];
  checks.push(
    docker.cli.found
      ? pass('docker.cli', `docker CLI ${docker.cli.version ?? ''}`.trim())
      : {
          id: 'docker.cli',
          status: 'fail',
          message: 'the docker CLI is not on PATH',
          fix: 'install Docker Engine and its CLI (https://docs.docker.com/engine/install/)',
        },
  );
  if (docker.daemon.reachable) {
    const { serverVersion, apiVersion } = docker.daemon;
    checks.push(
      pass('docker.daemon', `Docker Engine ${serverVersion} (API ${apiVersion}) at ${docker.host}`),
    );
    checks.push(
      compareVersions(apiVersion, START_INTERVAL_API) >= 0
        ? pass(
            'docker.healthcheck',
            `API ${apiVersion} supports healthcheck start_interval (fast health reporting)`,
          )
        : {
            id: 'docker.healthcheck',
            status: 'warn',
            message: `API ${apiVersion} is older than ${START_INTERVAL_API} (no healthcheck start_interval): start drops it and runs healthchecks itself while waiting`,
            fix: 'upgrade Docker Engine to 25.0 or newer',
          },
    );
  } else {
    checks.push({
      id: 'docker.daemon',
      status: 'fail',
      message: `cannot reach the Docker daemon at ${docker.host}: ${docker.daemon.error}`,
      fix: 'start it (sudo systemctl start docker), check DOCKER_HOST, or add your user to the docker group',
    });
  }
  if (docker.compose === null) {
    checks.push({
      id: 'docker.compose',
      status: 'fail',
      message: 'neither `docker compose` nor `docker-compose` is installed',
      fix: 'install the compose plugin (package docker-compose-plugin or docker-compose)',
    });
  } else if (docker.compose.flavour === 'v1') {
    checks.push({
      id: 'docker.compose',
      status: 'warn',
      message: `docker-compose ${docker.compose.version} (v1, end of life); stackctl falls back to it`,
      fix: 'install the compose v2 plugin (docker compose)',
    });
  } else {
    checks.push(pass('docker.compose', `docker compose ${docker.compose.version}`));
  }
  return checks;
}

function gpuChecks({ model, facts, layout, gpuMode }: PreflightInput): Check[] {
  const required = model.definition.gpu.required;
  if (gpuMode === 'cpu' || facts.gpus === undefined) {
    if (!required) return [pass('gpu', `${model.name} needs no GPU`)];
    return [
      {
        id: 'gpu.profile',
        status: 'warn',
        message: `${model.name} expects GPUs (${model.definition.gpu.profile}) but runs with the cpu profile: vLLM gets no GPU`,
        fix: 'use a host with NVIDIA GPUs, or accept CPU-only inference',
      },
    ];
  }
  const gpus = facts.gpus;
  if (!gpus.ok) {
    return [
      { id: 'gpu.driver', status: 'fail', message: `nvidia-smi failed: ${gpus.message}`, fix: gpus.fix },
    ];
  }
  const checks: Check[] = [];
  const { detection } = gpus;
  if (!detection.nvidiaSmi) {
    checks.push({
      id: 'gpu.driver',
      status: 'fail',
      message: 'nvidia-smi is not on PATH, so no NVIDIA GPU can be used',
      fix: 'install the NVIDIA driver, or run with --gpu cpu',
    });
  } else {
    const driver = detection.gpus[0]?.driverVersion ?? 'unknown';
    checks.push(pass('gpu.driver', `NVIDIA driver ${driver}`));
  }
  if (layout && !layout.ok) {
    checks.push({ id: 'gpu.count', status: 'fail', message: layout.reason, fix: layout.fix });
    return checks;
  }
  if (!layout) return checks;
  const chosen = layout.layout;
  const names = chosen.devices.map(
    (index) => detection.gpus.find((gpu) => gpu.index === index)?.name ?? `GPU${index}`,
  );
  checks.push(
    pass(
      'gpu.count',
      chosen.devices.length === 0
        ? 'cpu profile: no GPU reserved'
        : `${chosen.profile} profile on GPU ${chosen.devices.join(', ')} (${[...new Set(names)].join(', ')}), tensor parallel ${chosen.tensorParallelSize}`,
    ),
  );
  if (layout.fallbackFrom) {
    checks.push({
      id: 'gpu.fallback',
      status: 'warn',
      message: `${model.name} prefers the ${layout.fallbackFrom.mode} GPU profile, but ${layout.fallbackFrom.reason}: using its fallback, ${chosen.profile}`,
      fix: `run with more GPUs for ${layout.fallbackFrom.mode}, or record this choice: stackctl gpu configure ${model.name} ${chosen.profile}`,
    });
  }
  if (chosen.profile === 'multi') {
    const nvNote = chosen.notes.find((note) => note.startsWith('no NVLink'));
    checks.push(
      nvNote === undefined
        ? pass('gpu.nvlink', `GPU ${chosen.devices.join(', ')} are joined by NVLink`)
        : {
            id: 'gpu.nvlink',
            status: 'warn',
            message: nvNote,
            fix: 'fit an NVLink bridge, or use --gpu single',
          },
    );
  }
  checks.push(...gpuMemoryChecks(model, detection.gpus, gpus.freeMiB, chosen.devices));
  if (chosen.devices.length > 0) {
    const runtimes = facts.docker.daemon.reachable ? facts.docker.daemon.runtimes : [];
    checks.push(
      runtimes.includes('nvidia') || facts.nvidiaCdi
        ? pass(
            'gpu.toolkit',
            runtimes.includes('nvidia')
              ? 'Docker has the nvidia runtime'
              : 'NVIDIA CDI devices are configured',
          )
        : {
            id: 'gpu.toolkit',
            status: 'fail',
            message: `Docker cannot give containers GPUs: no nvidia runtime (runtimes: ${runtimes.join(', ') || 'unknown'}) and no NVIDIA CDI spec`,
            fix: 'install nvidia-container-toolkit, run `sudo nvidia-ctk runtime configure --runtime=docker`, restart Docker',
          },
    );
  }
  return checks;
}

function gpuMemoryChecks(
  model: EnvironmentModel,
  gpus: readonly { index: number; memoryTotalMiB: number | null }[],
  freeMiB: ReadonlyMap<number, number>,
  devices: readonly number[],
): Check[] {
  const utilization = Number(model.values.get('VLLM_GPU_MEMORY_UTILIZATION') ?? NaN);
  if (!Number.isFinite(utilization) || devices.length === 0) return [];
  const checks: Check[] = [];
  for (const index of devices) {
    const total = gpus.find((gpu) => gpu.index === index)?.memoryTotalMiB ?? null;
    const free = freeMiB.get(index);
    if (total === null || free === undefined) continue;
    const needed = Math.ceil(total * utilization);
    checks.push(
      free >= needed
        ? pass(
            `gpu.memory.${index}`,
            `GPU${index}: ${free} MiB free of ${total} MiB; vLLM at ${utilization} needs ${needed} MiB`,
          )
        : {
            id: `gpu.memory.${index}`,
            status: 'fail',
            message: `GPU${index} has ${free} MiB free; vLLM at ${utilization} needs ${needed} MiB of ${total} MiB`,
            fix: 'stop what holds GPU memory (see nvidia-smi), or lower VLLM_GPU_MEMORY_UTILIZATION for this environment',
          },
    );
  }
  return checks;
}

function hostChecks({ model, facts }: PreflightInput): Check[] {
  const checks: Check[] = [];
  // memoryMinimumGb is in decimal gigabytes, as the seeds' matrix states it ("~24GB").
  const neededBytes = model.definition.memoryMinimumGb * 1e9;
  if (facts.memory === undefined) {
    checks.push({ id: 'host.memory', status: 'warn', message: 'could not read available memory', fix: '' });
  } else if (facts.memory.availableBytes === undefined) {
    const total = gb(facts.memory.totalBytes);
    checks.push(
      facts.memory.totalBytes >= neededBytes
        ? {
            id: 'host.memory',
            status: 'warn',
            message: `the daemon's host has ${total} GB in all (its free memory is not known from here); ${model.name} needs ${model.definition.memoryMinimumGb} GB`,
            fix: `run stackctl preflight ${model.name} on that host to check what is free`,
          }
        : {
            id: 'host.memory',
            status: 'fail',
            message: `the daemon's host has ${total} GB of memory in all; ${model.name} needs ${model.definition.memoryMinimumGb} GB`,
            fix: 'run a smaller environment, or use a bigger host',
          },
    );
  } else {
    const available = gb(facts.memory.availableBytes);
    checks.push(
      facts.memory.availableBytes >= neededBytes
        ? pass(
            'host.memory',
            `${available} GB available; ${model.name} needs ${model.definition.memoryMinimumGb} GB`,
          )
        : {
            id: 'host.memory',
            status: 'fail',
            message: `${available} GB of memory available; ${model.name} needs ${model.definition.memoryMinimumGb} GB`,
            fix: 'stop other workloads, or run a smaller environment',
          },
    );
  }
  if ('error' in facts.disk) {
    checks.push({
      id: 'host.disk',
      status: 'warn',
      message: `could not measure free space at ${facts.disk.path}: ${facts.disk.error}`,
      fix: '',
    });
  } else {
    const free = gb(facts.disk.freeBytes);
    const diskMinimumGb = model.definition.diskMinimumGb ?? DEFAULT_DISK_MINIMUM_GB;
    checks.push(
      facts.disk.freeBytes >= diskMinimumGb * 1e9
        ? pass('host.disk', `${free} GB free at ${facts.disk.path}`)
        : {
            id: 'host.disk',
            status: 'fail',
            message: `${free} GB free at ${facts.disk.path}; ${model.name} needs ${diskMinimumGb} GB for images, models and volumes`,
            fix: "free space (stackctl clean removes only this project's leftovers), or move Docker's data-root",
          },
    );
  }
  const usage = facts.diskUsage;
  if (usage !== undefined && !('error' in usage)) {
    const share = reclaimableShare(usage);
    const bytes = usage.reduce((sum, row) => sum + row.reclaimableBytes, 0);
    checks.push(
      share > RECLAIMABLE_WARN_SHARE && bytes >= RECLAIMABLE_WARN_BYTES
        ? {
            id: 'docker.reclaimable',
            status: 'warn',
            message: `${formatGb(bytes)} (${Math.round(share * 100)}%) of Docker's storage is reclaimable`,
            fix: "run `stackctl clean` to remove this project's leftovers; stackctl never prunes anything else",
          }
        : pass(
            'docker.reclaimable',
            `${formatGb(bytes)} (${Math.round(share * 100)}%) of Docker's storage is reclaimable`,
          ),
    );
  }
  return checks;
}

function portChecks({ model, facts }: PreflightInput): Check[] {
  if (facts.ports.length === 0) return [pass('ports', `${model.name} publishes no host port`)];
  const checks: Check[] = [];
  for (const probe of facts.ports) {
    if (probe.status === 'free' || probe.status === 'own') continue;
    checks.push(portConflict(model, probe));
  }
  if (checks.length === 0) {
    const own = facts.ports.filter((probe) => probe.status === 'own').length;
    const ownText = own > 0 ? ` (${own} held by ${model.name}'s own containers)` : '';
    checks.push(pass('ports', `all ${facts.ports.length} host ports are free${ownText}`));
  }
  return checks;
}

function portConflict(model: EnvironmentModel, probe: PortProbe): Check {
  const variable = model.services
    .find((service) => service.name === probe.service)
    ?.ports.find(
      (port) => port.hostPorts && probe.port >= port.hostPorts[0] && probe.port <= port.hostPorts[1],
    )?.hostPortVariable;
  const address = `${probe.hostIp === '' ? '0.0.0.0' : probe.hostIp}:${probe.port}`;
  const change = variable
    ? `or set ${variable} to a free port under environments.${model.name}.variables`
    : 'or change the port of the service';
  if (probe.status === 'error') {
    return {
      id: `port.${probe.port}`,
      status: 'fail',
      message: `cannot bind ${address}/${probe.protocol} for ${probe.service}: ${probe.error ?? 'unknown error'}`,
      fix: `check the bind address (BIND_ADDRESS) exists on this host, ${change}`,
    };
  }
  const container = probe.holderContainer;
  if (container) {
    // model.project is <stackctl project>-<environment>.
    const sameProject =
      container.stackctlProject !== undefined &&
      model.project === `${container.stackctlProject}-${model.name}`;
    const who =
      container.environment !== undefined && sameProject
        ? `container ${container.name} of ${container.environment}, another environment of this project`
        : `container ${container.name}${container.composeProject ? ` (compose project ${container.composeProject})` : ''}`;
    const stop =
      container.environment !== undefined && sameProject
        ? `stop it (stackctl stop ${container.environment})`
        : container.composeProject
          ? `stop it (docker compose -p ${container.composeProject} stop)`
          : `stop it (docker stop ${container.name})`;
    return {
      id: `port.${probe.port}`,
      status: 'fail',
      message: `port ${address}/${probe.protocol} for ${probe.service} is in use by ${who}`,
      fix: `${stop}, ${change}`,
    };
  }
  return {
    id: `port.${probe.port}`,
    status: 'fail',
    message: `port ${address}/${probe.protocol} for ${probe.service} is in use${probe.holder ? ` by ${probe.holder}` : ''}`,
    fix: `stop what holds it, ${change}`,
  };
}

function networkChecks({ model, facts }: PreflightInput): Check[] {
  return subnetChecks(model, facts.dockerNetworks, facts.hostNetworks);
}

/** The environment's subnets against Docker networks (other than its own) and host routes. */
export function subnetChecks(
  model: EnvironmentModel,
  dockerNetworks: HostFacts['dockerNetworks'],
  hostNetworks: HostFacts['hostNetworks'],
): Check[] {
  const facts = { dockerNetworks, hostNetworks };
  const checks: Check[] = [];
  const subnets = model.networks
    .map((network) => ({ network, cidr: parseCidr(network.subnet) }))
    .filter(
      (entry): entry is { network: (typeof model.networks)[number]; cidr: { ok: true; cidr: Cidr } } =>
        entry.cidr.ok,
    );
  // Docker's own bridges are judged by the Docker network check, which knows their owners.
  const bridges = new Set(['docker0', ...(facts.dockerNetworks ?? []).map((n) => `br-${n.id.slice(0, 12)}`)]);
  for (const { network, cidr } of subnets) {
    for (const other of facts.dockerNetworks ?? []) {
      if (other.project === model.project) continue;
      const clash = other.subnets.find((subnet) => overlaps(subnet, cidr.cidr));
      if (clash !== undefined) checks.push(networkClash(model, network.name, network.subnet, other, clash));
    }
    for (const host of facts.hostNetworks) {
      if (bridges.has(host.iface)) continue;
      if (overlaps(host.cidr, cidr.cidr)) {
        checks.push({
          id: `network.${network.name}`,
          status: 'fail',
          message: `${network.name} (${network.subnet}) overlaps ${host.cidr} (${host.via}): traffic to it would be misrouted`,
          fix: `choose another environments.${model.name}.addressPool`,
        });
      }
    }
  }
  if (checks.length === 0) {
    const where = facts.dockerNetworks === undefined ? 'host routes' : 'Docker networks and host routes';
    const count = `${subnets.length} subnet${subnets.length === 1 ? '' : 's'}`;
    checks.push(pass('network', `${count} (${model.definition.addressPool}) clash with no ${where}`));
  }
  return checks;
}

function networkClash(
  model: EnvironmentModel,
  name: string,
  subnet: string,
  other: DockerNetworkFact,
  clash: string,
): Check {
  const owner = other.project === undefined ? '' : ` of compose project ${other.project}`;
  return {
    id: `network.${name}`,
    status: 'fail',
    message: `${name} (${subnet}) overlaps Docker network ${other.name}${owner} (${clash})`,
    fix:
      other.project === undefined
        ? `remove it if unused (docker network rm ${other.name}), or choose another environments.${model.name}.addressPool`
        : `stop that environment first (stackctl stop), or choose another environments.${model.name}.addressPool`,
  };
}

function overlaps(text: string, cidr: Cidr): boolean {
  const parsed = parseCidr(text);
  return parsed.ok && cidrsOverlap(parsed.cidr, cidr);
}

function workloadChecks({ model, facts }: PreflightInput): Check[] {
  const checks: Check[] = [];
  if (
    model.services.some(
      (service) => service.name === 'elasticsearch' || isElasticsearch(service.definition.image),
    )
  ) {
    const count = facts.maxMapCount;
    checks.push(
      count === undefined
        ? { id: 'host.max_map_count', status: 'warn', message: 'cannot read vm.max_map_count', fix: '' }
        : count >= ELASTICSEARCH_MAX_MAP_COUNT
          ? pass('host.max_map_count', `vm.max_map_count is ${count}`)
          : {
              id: 'host.max_map_count',
              status: 'fail',
              message: `vm.max_map_count is ${count}; Elasticsearch needs at least ${ELASTICSEARCH_MAX_MAP_COUNT}`,
              fix: `sudo sysctl -w vm.max_map_count=${ELASTICSEARCH_MAX_MAP_COUNT} (persist it in /etc/sysctl.d/99-elasticsearch.conf)`,
            },
    );
  }
  const tensorParallel = Number(model.values.get('VLLM_TENSOR_PARALLEL_SIZE') ?? 1);
  if (tensorParallel > 1) {
    for (const service of model.services.filter((s) => s.gpu && usesTensorParallelism(s.definition))) {
      const shm = parseSize(service.definition.shm_size);
      const ok = service.definition.ipc === 'host' || (shm !== undefined && shm >= 1024 ** 3);
      checks.push(
        ok
          ? pass(
              `${service.name}.shm`,
              `${service.name} shares memory for tensor parallelism ${tensorParallel}`,
            )
          : {
              id: `${service.name}.shm`,
              status: 'fail',
              message: `${service.name} runs tensor parallelism ${tensorParallel} with Docker's 64 MB /dev/shm: NCCL will fail`,
              fix: `set ipc: host (or shm_size: 16g) on services.${service.name}`,
            },
      );
    }
  }
  return checks;
}

function isElasticsearch(image: string | undefined): boolean {
  return image !== undefined && /elasticsearch/.test(image);
}

function usesTensorParallelism(definition: object): boolean {
  let found = false;
  walkStrings(definition, [], (text) => {
    if (text.includes('VLLM_TENSOR_PARALLEL_SIZE') || text.includes('--tensor-parallel-size')) found = true;
  });
  return found;
}

/** Docker sizes: a number of bytes, or 512m, 16g, 1gb. */
export function parseSize(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(value.trim());
  if (!match) return undefined;
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1;
  return Number(match[1]) * unit;
}

function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(1);
}

/** Compares dotted versions numerically: 1.45 > 1.44 > 1.9. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function formatGb(bytes: number): string {
  return bytes >= 1e8 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`;
}

import type { DockerNetworkFact, HostFacts, PortProbe } from '../host/facts.js';
import { reclaimableShare } from '../host/disk-usage.js';

export {
  DEFAULT_DISK_MINIMUM_GB,
  ELASTICSEARCH_MAX_MAP_COUNT,
  parseSize,
  RECLAIMABLE_WARN_BYTES,
  RECLAIMABLE_WARN_SHARE,
  START_INTERVAL_API,
} from './check.js';
export type { Check, CheckStatus, PreflightInput } from './check.js';
import type { EnvironmentModel } from '../model/environment.js';
import { cidrsOverlap, parseCidr, type Cidr } from '../schema/cidr.js';
import {
  DEFAULT_DISK_MINIMUM_GB,
  pass,
  RECLAIMABLE_WARN_BYTES,
  RECLAIMABLE_WARN_SHARE,
  START_INTERVAL_API,
  type Check,
  type PreflightInput,
} from './check.js';
import { gpuChecks } from './gpu-checks.js';
import { workloadChecks } from './workload-checks.js';

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
      const what =
        entry.stackctlMetrics === true ? 'where stackctl writes its metrics for' : 'a cache folder of';
      checks.push(pass(id, `${entry.path} (${what} ${entry.service}) does not exist yet: start creates it`));
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

import { mkdir, readFile, readdir, statfs } from 'node:fs/promises';
import { homedir, networkInterfaces } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { HostPathFact } from '../../host/facts.js';
import { CACHE_FOLDERS, type HostPath } from '../../model/host-paths.js';
import { exists } from '../files.js';
import { stateMetricsFolder } from '../state-metrics-file.js';
import { interfaceCidr, parseProcRoutes } from '../../host/routes.js';

export async function probeMemory(): Promise<{ totalBytes: number; availableBytes: number } | undefined> {
  try {
    // Loaded here, not up front: it is a large module, and start checks the host while compose runs.
    const { default: si } = await import('systeminformation');
    const memory = await si.mem();
    return { totalBytes: memory.total, availableBytes: memory.available };
  } catch {
    return undefined;
  }
}

/** Free space for unprivileged writers at a path, walking up to the nearest folder that exists. */
export async function probeDisk(
  path: string,
): Promise<{ path: string; freeBytes: number } | { path: string; error: string }> {
  let current = path;
  for (;;) {
    try {
      const stats = await statfs(current);
      return { path: current, freeBytes: stats.bavail * stats.bsize };
    } catch (error) {
      const parent = dirname(current);
      if (parent === current) return { path, error: (error as Error).message };
      current = parent;
    }
  }
}

export async function probeMaxMapCount(): Promise<number | undefined> {
  const text = await readFile('/proc/sys/vm/max_map_count', 'utf8').catch(() => undefined);
  const value = Number(text?.trim());
  return text === undefined || !Number.isFinite(value) ? undefined : value;
}

export async function probeNvidiaCdi(): Promise<boolean> {
  for (const folder of ['/etc/cdi', '/var/run/cdi']) {
    const files = await readdir(folder).catch(() => [] as string[]);
    if (files.some((file) => /nvidia/i.test(file))) return true;
  }
  return false;
}

/** Networks the host already routes to: route destinations and interface networks. */
export async function probeHostNetworks(): Promise<{ cidr: string; via: string; iface: string }[]> {
  const out: { cidr: string; via: string; iface: string }[] = [];
  const routes = await readFile('/proc/net/route', 'utf8').catch(() => '');
  for (const route of parseProcRoutes(routes))
    out.push({ cidr: route.cidr, via: `route via ${route.iface}`, iface: route.iface });
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family !== 'IPv4' || address.internal) continue;
      const cidr = interfaceCidr(address.address, address.netmask);
      if (cidr !== undefined && !out.some((entry) => entry.cidr === cidr))
        out.push({ cidr, via: `interface ${name}`, iface: name });
    }
  }
  return out;
}

/**
 * Which of the environment's host paths exist (relative ones under the project folder). Missing
 * cache folders (./models) are created: Docker would make them anyway, and they hold nothing yet;
 * so is the folder stackctl writes its own metrics into (.stackctl/metrics, a node exporter's).
 */
export async function probeHostPaths(root: string, paths: readonly HostPath[]): Promise<HostPathFact[]> {
  return Promise.all(
    paths.map(async (entry) => {
      const absolute = hostPathOf(root, entry.path);
      if (await exists(absolute)) return { ...entry, exists: true, cache: false };
      const stackctlMetrics = isStateMetricsFolder(root, entry, absolute);
      return {
        ...entry,
        exists: false,
        cache: stackctlMetrics || isCacheFolder(entry, absolute),
        ...(stackctlMetrics ? { stackctlMetrics } : {}),
      };
    }),
  );
}

function isStateMetricsFolder(root: string, entry: HostPath, absolute: string): boolean {
  return entry.kind === 'bind' && absolute === stateMetricsFolder(root);
}

function hostPathOf(root: string, path: string): string {
  return path.startsWith('~') ? join(homedir(), path.slice(1)) : resolve(root, path);
}

function isCacheFolder(entry: HostPath, absolute: string): boolean {
  return entry.kind === 'bind' && CACHE_FOLDERS.has(basename(absolute));
}

/** Creates the missing cache folders (./models) and stackctl's metrics folder the services mount: start does, before compose runs. */
export async function createCacheFolders(
  root: string,
  paths: readonly HostPath[],
): Promise<{ readonly path: string; readonly stackctlMetrics: boolean }[]> {
  const created: { path: string; stackctlMetrics: boolean }[] = [];
  for (const entry of paths) {
    const absolute = hostPathOf(root, entry.path);
    const stackctlMetrics = isStateMetricsFolder(root, entry, absolute);
    if (!(stackctlMetrics || isCacheFolder(entry, absolute)) || (await exists(absolute))) continue;
    await mkdir(absolute, { recursive: true });
    created.push({ path: entry.path, stackctlMetrics });
  }
  return created;
}

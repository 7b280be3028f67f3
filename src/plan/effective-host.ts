// What of the host compose will really use: bind sources, build contexts and published ports of the
// effective configuration (the user's overlay applied), for preflight to check instead of the schema's.
import { relative, resolve, sep } from 'node:path';
import type { HostPath } from '../model/host-paths.js';
import { asComposeDocument } from './compose-document.js';

/** A host port a service publishes. */
export interface WantedPort {
  readonly service: string;
  readonly hostIp: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

/** A path as preflight shows it: ./x inside the project, absolute outside. */
function shown(root: string, absolute: string): string {
  const inside = relative(root, absolute);
  return inside === '' ? '.' : inside === '..' || inside.startsWith(`..${sep}`) ? absolute : `./${inside}`;
}

/**
 * The host paths of an effective configuration. A bind of a file generate writes (configs/<env>/...)
 * keeps kind config, so a start that is about to write it does not fail on it.
 */
export function effectiveHostPaths(
  document: unknown,
  root: string,
  declared: readonly HostPath[],
): HostPath[] {
  const generated = new Set(
    declared.filter((entry) => entry.kind === 'config').map((entry) => resolve(root, entry.path)),
  );
  const out: HostPath[] = [];
  for (const [name, service] of Object.entries(asComposeDocument(document).services ?? {})) {
    for (const volume of service.volumes ?? []) {
      if (volume.type !== 'bind' || volume.source === undefined) continue;
      const kind = generated.has(volume.source) ? 'config' : 'bind';
      out.push({ service: name, kind, path: shown(root, volume.source), target: volume.target });
    }
    const build = service['build'] as { context?: unknown } | undefined;
    if (build && typeof build.context === 'string' && !/^[a-z]+:\/\//i.test(build.context))
      out.push({
        service: name,
        kind: 'build',
        path: shown(root, build.context),
        ...(service.image ? { image: service.image } : {}),
      });
  }
  return out;
}

/** Every host port the effective configuration publishes, one entry per port of a range. */
export function effectivePorts(document: unknown): WantedPort[] {
  const out: WantedPort[] = [];
  for (const [name, service] of Object.entries(asComposeDocument(document).services ?? {})) {
    for (const port of service.ports ?? []) {
      if (port.published === undefined || port.published === '') continue;
      const [first, last = first] = String(port.published).split('-').map(Number);
      if (first === undefined || last === undefined || !Number.isInteger(first) || !Number.isInteger(last))
        continue;
      const protocol = port.protocol === 'udp' ? 'udp' : 'tcp';
      for (let p = first; p <= last; p++)
        out.push({ service: name, hostIp: port.host_ip ?? '0.0.0.0', port: p, protocol });
    }
  }
  return out;
}

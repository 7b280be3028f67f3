// The ports a service listens on, as Kubernetes names them.
import type { StackFile } from '../../schema/types.js';
import { containerSide } from '../../schema/values.js';
import type { ComposeService } from '../compose-document.js';

export interface ContainerPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

/**
 * Every port a service listens on, from the schema (what it publishes may differ by environment, or
 * be switched off): the container side of its ports, and what it exposes.
 */
export function containerPorts(file: StackFile, name: string, service: ComposeService): ContainerPort[] {
  const out = new Map<string, ContainerPort>();
  const add = (port: number, protocol: string): void => {
    const proto = protocol.toUpperCase() === 'UDP' ? 'UDP' : 'TCP';
    const key = `${port}/${proto}`;
    if (!out.has(key) && Number.isInteger(port) && port > 0)
      out.set(key, { name: `${proto === 'UDP' ? 'udp' : 'tcp'}-${port}`, port, protocol: proto });
  };
  const declared = file.services[name];
  for (const port of declared?.ports ?? []) {
    const protocol =
      typeof port === 'object' ? (port.protocol ?? 'tcp') : /\/udp$/.test(String(port)) ? 'udp' : 'tcp';
    for (const number of portRange(containerSide(port))) add(number, protocol);
  }
  if (!declared) for (const port of service.ports ?? []) add(Number(port.target), port.protocol ?? 'tcp');
  for (const exposed of [...(declared?.expose ?? []), ...(service.expose ?? [])]) {
    const [number, protocol] = String(exposed).split('/');
    add(Number(number), protocol ?? 'tcp');
  }
  return [...out.values()];
}

/** The ports of "8080" or "8000-8002". */
export function portRange(text: string): number[] {
  const [first, last = first] = text.split('-').map(Number);
  const out: number[] = [];
  if (first === undefined || last === undefined) return out;
  for (let port = first; port <= last; port++) out.push(port);
  return out;
}

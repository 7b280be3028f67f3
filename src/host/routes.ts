import { intToIp } from '../schema/cidr.js';

export interface HostRoute {
  readonly iface: string;
  readonly cidr: string;
}

/** Reads /proc/net/route: destinations and masks are little-endian hex. The default route is skipped. */
export function parseProcRoutes(text: string): HostRoute[] {
  const routes: HostRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const [iface, destinationHex, , , , , , maskHex] = fields;
    const destination = littleEndian(destinationHex ?? '');
    const mask = littleEndian(maskHex ?? '');
    if (destination === undefined || mask === undefined || mask === 0) continue;
    const prefix = 32 - Math.log2(2 ** 32 - mask);
    if (!Number.isInteger(prefix)) continue;
    routes.push({ iface: iface ?? '', cidr: `${intToIp(destination)}/${prefix}` });
  }
  return routes;
}

function littleEndian(hex: string): number | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const bytes = hex.match(/../g)?.map((byte) => parseInt(byte, 16)) ?? [];
  return bytes.reduceRight((value, byte) => value * 256 + byte, 0);
}

/** The network of an interface address, e.g. 192.168.1.20 with netmask 255.255.255.0 → 192.168.1.0/24. */
export function interfaceCidr(address: string, netmask: string): string | undefined {
  const a = address.split('.').map(Number);
  const m = netmask.split('.').map(Number);
  if (a.length !== 4 || m.length !== 4) return undefined;
  const network = a.map((byte, i) => byte & (m[i] ?? 0));
  const prefix = m.reduce((bits, byte) => bits + (byte.toString(2).match(/1/g)?.length ?? 0), 0);
  return `${network.join('.')}/${prefix}`;
}

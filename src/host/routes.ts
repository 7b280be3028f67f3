import ipaddr from 'ipaddr.js';
import { fromInt } from '../schema/cidr.js';

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
    const prefix = fromInt(mask).prefixLengthFromSubnetMask();
    if (prefix === null) continue;
    routes.push({ iface: iface ?? '', cidr: `${fromInt(destination).toString()}/${prefix}` });
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
  if (!ipaddr.IPv4.isValidFourPartDecimal(address) || !ipaddr.IPv4.isValidFourPartDecimal(netmask))
    return undefined;
  const prefix = ipaddr.IPv4.parse(netmask).prefixLengthFromSubnetMask();
  if (prefix === null) return undefined;
  return `${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString()}/${prefix}`;
}

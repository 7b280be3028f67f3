import ipaddr from 'ipaddr.js';

/** An IPv4 network: its text, first address as an integer (for slot arithmetic), prefix and size. */
export interface Cidr {
  readonly text: string;
  readonly start: number;
  readonly prefix: number;
  /** Number of addresses. */
  readonly size: number;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string; hint: string };

/** Parses an IPv4 CIDR such as 10.30.0.0/20 and insists it names a network, not a host. */
export function parseCidr(text: string): CidrParse {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(text) || !ipaddr.IPv4.isValidCIDR(text)) {
    return {
      ok: false,
      reason: `"${text}" is not an IPv4 CIDR`,
      hint: 'write it as ADDRESS/PREFIX, such as 10.30.0.0/20',
    };
  }
  const [address, prefix] = ipaddr.IPv4.parseCIDR(text);
  const network = ipaddr.IPv4.networkAddressFromCIDR(text);
  if (network.toString() !== address.toString()) {
    return {
      ok: false,
      reason: `"${text}" has host bits set`,
      hint: `did you mean ${network.toString()}/${prefix}?`,
    };
  }
  return { ok: true, cidr: { text, start: toInt(network), prefix, size: 2 ** (32 - prefix) } };
}

const PRIVATE_BLOCKS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((block) =>
  ipaddr.IPv4.parseCIDR(block),
);

/** RFC 1918 private space (10/8, 172.16/12, 192.168/16), the whole network inside one block. */
export function isPrivateCidr(cidr: Cidr): boolean {
  const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr.text);
  return PRIVATE_BLOCKS.some((block) => address.match(block) && prefix >= block[1]);
}

/** Two networks overlap exactly when one contains the other's first address (CIDRs nest or are apart). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const [first, second] = [ipaddr.IPv4.parseCIDR(a.text), ipaddr.IPv4.parseCIDR(b.text)];
  return first[0].match(second) || second[0].match(first);
}

/** The /24 at `slot` inside a pool, or undefined when the pool is too small for it. */
export function subnetAt(pool: Cidr, slot: number): Cidr | undefined {
  if (pool.prefix > 24) return undefined;
  const slots = 2 ** (24 - pool.prefix);
  if (slot >= slots) return undefined;
  const start = pool.start + slot * 256;
  return { text: `${fromInt(start).toString()}/24`, start, prefix: 24, size: 256 };
}

function toInt(address: ipaddr.IPv4): number {
  return address.toByteArray().reduce((acc, byte) => acc * 256 + byte, 0);
}

/** An IPv4 address from its 32-bit value. */
export function fromInt(value: number): ipaddr.IPv4 {
  return ipaddr.fromByteArray(
    [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256),
  ) as ipaddr.IPv4;
}

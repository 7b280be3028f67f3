import ipaddr from 'ipaddr.js';

/** An IPv4 network as integers, for overlap arithmetic. */
export interface Cidr {
  readonly text: string;
  readonly start: number;
  readonly prefix: number;
  /** Number of addresses. */
  readonly size: number;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string; hint: string };

function toInt(bytes: number[]): number {
  return bytes.reduce((acc, byte) => acc * 256 + byte, 0);
}

export function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

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
  const size = 2 ** (32 - prefix);
  const value = toInt(address.toByteArray());
  const start = Math.floor(value / size) * size;
  if (start !== value) {
    return {
      ok: false,
      reason: `"${text}" has host bits set`,
      hint: `did you mean ${intToIp(start)}/${prefix}?`,
    };
  }
  return { ok: true, cidr: { text, start, prefix, size } };
}

/** RFC 1918 private space: 10/8, 172.16/12, 192.168/16. */
export function isPrivateCidr(cidr: Cidr): boolean {
  const blocks: [number, number][] = [
    [toInt([10, 0, 0, 0]), 8],
    [toInt([172, 16, 0, 0]), 12],
    [toInt([192, 168, 0, 0]), 16],
  ];
  return blocks.some(([start, prefix]) => {
    const size = 2 ** (32 - prefix);
    return cidr.start >= start && cidr.start + cidr.size <= start + size;
  });
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.start < b.start + b.size && b.start < a.start + a.size;
}

/** The /24 at `slot` inside a pool, or undefined when the pool is too small for it. */
export function subnetAt(pool: Cidr, slot: number): Cidr | undefined {
  if (pool.prefix > 24) return undefined;
  const slots = 2 ** (24 - pool.prefix);
  if (slot >= slots) return undefined;
  const start = pool.start + slot * 256;
  const text = `${intToIp(start)}/24`;
  return { text, start, prefix: 24, size: 256 };
}

import { describe, expect, it } from 'vitest';
import { cidrsOverlap, isPrivateCidr, parseCidr, subnetAt, type Cidr } from '../../src/schema/cidr.js';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.cidr;
}

describe('parseCidr', () => {
  it('parses a network', () => {
    expect(cidr('10.30.0.0/20')).toMatchObject({
      start: 10 * 2 ** 24 + 30 * 2 ** 16,
      prefix: 20,
      size: 4096,
    });
  });

  it.each(['10.30.0.0', '10.30.0.0/33', '300.1.1.1/8', 'ten/8', '10.30.0.0/20 '])('rejects %j', (text) => {
    expect(parseCidr(text).ok).toBe(false);
  });

  it('rejects host bits and suggests the network', () => {
    expect(parseCidr('10.30.17.0/20')).toMatchObject({ ok: false, hint: 'did you mean 10.30.16.0/20?' });
  });
});

describe('isPrivateCidr', () => {
  it.each([
    ['10.0.0.0/8', true],
    ['172.16.0.0/12', true],
    ['172.31.255.0/24', true],
    ['192.168.4.0/24', true],
    // The seeds used 172.30-172.35: from 172.32 on, that is public space.
    ['172.32.0.0/24', false],
    ['172.35.0.0/24', false],
    ['8.8.8.0/24', false],
    ['0.0.0.0/0', false],
  ])('%s private: %s', (text, expected) => {
    expect(isPrivateCidr(cidr(text))).toBe(expected);
  });
});

describe('cidrsOverlap', () => {
  it('detects containment and partial overlap, not neighbours', () => {
    expect(cidrsOverlap(cidr('10.30.0.0/20'), cidr('10.30.8.0/21'))).toBe(true);
    expect(cidrsOverlap(cidr('10.30.0.0/20'), cidr('10.30.16.0/20'))).toBe(false);
    expect(cidrsOverlap(cidr('10.0.0.0/8'), cidr('10.200.1.0/24'))).toBe(true);
  });
});

describe('subnetAt', () => {
  it('gives the /24 at a slot of a pool', () => {
    expect(subnetAt(cidr('10.30.16.0/20'), 5)?.text).toBe('10.30.21.0/24');
  });

  it('refuses slots outside the pool', () => {
    expect(subnetAt(cidr('10.30.16.0/20'), 16)).toBeUndefined();
    expect(subnetAt(cidr('10.30.16.0/25'), 0)).toBeUndefined();
  });
});

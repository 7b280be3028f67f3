import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interfaceCidr, parseProcRoutes } from '../../src/host/routes.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

describe('parseProcRoutes', () => {
  it('reads destinations and masks, skipping the default route', () => {
    const text = readFileSync(join(HOST_FIXTURES, 'proc', 'net-route-docker0-01.txt'), 'utf8');
    expect(parseProcRoutes(text)).toEqual([
      { iface: 'docker0', cidr: '172.17.0.0/16' },
      { iface: 'eth0', cidr: '192.0.2.0/24' },
    ]);
  });

  it('ignores the header and malformed lines', () => {
    expect(parseProcRoutes('Iface\tDestination\nbad line\n')).toEqual([]);
  });
});

describe('interfaceCidr', () => {
  it('masks the address into its network', () => {
    expect(interfaceCidr('192.168.1.20', '255.255.255.0')).toBe('192.168.1.0/24');
    expect(interfaceCidr('10.30.5.9', '255.255.240.0')).toBe('10.30.0.0/20');
    expect(interfaceCidr('fe80::1', 'ffff::')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { interpolate } from '../../src/schema/interpolate.js';
import { containerSide, parsePort } from '../../src/schema/values.js';

const values = new Map([
  ['BIND_ADDRESS', '127.0.0.1'],
  ['PG_PORT', '15432'],
]);
const apply = (text: string): string => interpolate(text, values).value;

describe('parsePort', () => {
  it('parses HOST_IP:HOST:CONTAINER after interpolation', () => {
    expect(parsePort('${BIND_ADDRESS}:${PG_PORT}:5432', apply)).toEqual({
      hostIp: '127.0.0.1',
      hostPorts: [15432, 15432],
      containerPort: '5432',
      protocol: 'tcp',
    });
  });

  it('parses ranges, protocols and IPv6 addresses', () => {
    expect(parsePort('[::1]:8000-8002:8000-8002/udp', apply)).toEqual({
      hostIp: '::1',
      hostPorts: [8000, 8002],
      containerPort: '8000-8002',
      protocol: 'udp',
    });
  });

  it('leaves the host port to compose when only the container port is given', () => {
    expect(parsePort(9000, apply)).toMatchObject({ hostPorts: undefined, containerPort: '9000' });
    expect(parsePort('9000', apply)).toMatchObject({ hostPorts: undefined, containerPort: '9000' });
  });

  it('reads the long syntax', () => {
    expect(parsePort({ target: 5432, published: '${PG_PORT}', host_ip: '${BIND_ADDRESS}' }, apply)).toEqual({
      hostIp: '127.0.0.1',
      hostPorts: [15432, 15432],
      containerPort: '5432',
      protocol: 'tcp',
    });
  });

  it.each(['127.0.0.1:abc:5432', '1:2:3:4', '5432:', '127.0.0.1:5432:99999999'])('rejects %j', (text) => {
    expect(typeof parsePort(text, apply)).toBe('string');
  });
});

describe('containerSide', () => {
  it('keeps ${VAR:-default} whole when splitting on colons', () => {
    expect(containerSide('${BIND_ADDRESS:-127.0.0.1}:${PG_PORT:-5432}:5432/tcp')).toBe('5432');
    expect(containerSide('${BIND_ADDRESS}:8000:${INNER:-80}')).toBe('${INNER:-80}');
  });
});

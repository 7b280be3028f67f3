import { describe, expect, it } from 'vitest';
import { earlyProbeDelayMs, healthcheckCommand } from '../../src/health/probe.js';

describe('healthcheckCommand', () => {
  it('runs CMD arguments as they are and CMD-SHELL and strings through sh -c', () => {
    expect(healthcheckCommand(['CMD', 'test', '-f', '/tmp/ready'])).toEqual(['test', '-f', '/tmp/ready']);
    expect(healthcheckCommand(['CMD-SHELL', 'pg_isready -U "$${POSTGRES_USER}"'])).toEqual([
      '/bin/sh',
      '-c',
      'pg_isready -U "$${POSTGRES_USER}"',
    ]);
    expect(healthcheckCommand('curl -f http://localhost/')).toEqual([
      '/bin/sh',
      '-c',
      'curl -f http://localhost/',
    ]);
  });

  it('has no command for NONE or an empty test', () => {
    expect(healthcheckCommand(['NONE'])).toBeUndefined();
    expect(healthcheckCommand(undefined)).toBeUndefined();
    expect(healthcheckCommand(['CMD'])).toBeUndefined();
  });
});

describe('earlyProbeDelayMs', () => {
  it('checks a young container often and an older one less, a twentieth of its age between 100 ms and 1 s', () => {
    expect(earlyProbeDelayMs(0, 30_000)).toBe(100);
    expect(earlyProbeDelayMs(2_000, 30_000)).toBe(100);
    expect(earlyProbeDelayMs(6_000, 30_000)).toBe(300);
    expect(earlyProbeDelayMs(120_000, 30_000)).toBe(1000);
  });

  it('leaves it to Docker once Docker runs the healthcheck at least as often', () => {
    // start_interval 250ms: stackctl helps only while its gap is shorter.
    expect(earlyProbeDelayMs(1_000, 250)).toBe(100);
    expect(earlyProbeDelayMs(6_000, 250)).toBeUndefined();
    expect(earlyProbeDelayMs(20_000, 1_000)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { healthcheckCommand, unescapeCompose } from '../../src/health/probe.js';

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

  it('unescapes $$ the way compose hands the command to the engine', () => {
    expect(unescapeCompose(['sh', '-c', 'echo $$HOME $${USER}'])).toEqual(['sh', '-c', 'echo $HOME ${USER}']);
  });
});

import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { stackctlCommand } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

describe('the single binary', () => {
  it('is a binary, not the Node launcher', () => {
    expect(process.env['STACKCTL_BIN']).toBeDefined();
  });

  it('runs with no Node.js anywhere on PATH and reads nothing from node_modules or the sources', async () => {
    const env = { PATH: '/nonexistent', NO_COLOR: '1' };
    const version = await execa(stackctlCommand(), ['--version'], { env, extendEnv: false, cwd: REPO_ROOT });
    expect(version.stdout).toMatch(/^stackctl \d+\.\d+\.\d+ \(schema format 1\)$/);
    const validate = await execa(stackctlCommand(), ['validate', '--json'], {
      env,
      extendEnv: false,
      cwd: REPO_ROOT,
      reject: false,
    });
    expect(validate.exitCode).toBe(0);
    expect(JSON.parse(validate.stdout)).toEqual({ valid: true, issues: [] });
  });
});

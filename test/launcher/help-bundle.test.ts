// A run that only prints (help or the version) runs dist/stackctl-help.cjs: the parser and every
// command's flags without what the commands do. It must print exactly what the full bundle prints.
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const BIN = join(REPO_ROOT, 'bin', 'stackctl');
const FULL_BUNDLE = join(REPO_ROOT, 'dist', 'stackctl.cjs');
const HELP_BUNDLE = join(REPO_ROOT, 'dist', 'stackctl-help.cjs');
let scratch: string;

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stackctl-help-bundle-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function env(): Record<string, string> {
  return { NO_COLOR: '1', STACKCTL_CACHE_DIR: join(scratch, 'cache') };
}

async function cacheFiles(): Promise<string[]> {
  const code = join(scratch, 'cache', 'code');
  const builds = await readdir(code).catch(() => []);
  const files = await Promise.all(builds.map((build) => readdir(join(code, build))));
  return files.flat().sort();
}

describe('the help bundle', () => {
  it.each([[[]], [['--help']], [['-h']], [['help']], [['help', 'backup']], [['--version']], [['-V']]])(
    'prints for %j what the full bundle prints, and is the bundle that ran',
    async (args: string[]) => {
      const viaBin = await execa(BIN, args, { cwd: scratch, env: env(), reject: false });
      const viaFull = await execa(process.execPath, [FULL_BUNDLE, ...args], {
        cwd: scratch,
        env: env(),
        reject: false,
      });
      expect(viaBin.stdout + viaBin.stderr).not.toBe('');
      expect({ out: viaBin.stdout, err: viaBin.stderr, exit: viaBin.exitCode }).toEqual({
        out: viaFull.stdout,
        err: viaFull.stderr,
        exit: viaFull.exitCode,
      });
      expect((await cacheFiles()).every((file) => file.startsWith('help-bundle.'))).toBe(true);
      expect(await cacheFiles()).toHaveLength(1);
    },
  );

  it('is not used once a run names a command, an option or more', async () => {
    for (const args of [
      ['validate', '--help'],
      ['--no-color', '--help'],
      ['help', '--verbose'],
    ])
      await execa(BIN, args, { cwd: scratch, env: env(), reject: false });
    expect(await cacheFiles()).toEqual(['help.bin', 'no-color.bin', 'validate.bin']);
  });

  it('holds no command: one reached by mistake fails loudly and does nothing', async () => {
    const result = await execa(process.execPath, [HELP_BUNDLE, 'generate', '--all'], {
      cwd: scratch,
      env: env(),
      reject: false,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('is not in the help bundle');
    expect(await readdir(scratch)).toEqual([]);
    // The parser and the flags alone: a small part of the whole program.
    expect((await stat(HELP_BUNDLE)).size * 10).toBeLessThan((await stat(FULL_BUNDLE)).size);
  });

  it('is not needed: without it, bin/stackctl prints help from the full bundle', async () => {
    await mkdir(join(scratch, 'bin'));
    await mkdir(join(scratch, 'dist'));
    await copyFile(BIN, join(scratch, 'bin', 'stackctl'));
    await copyFile(join(REPO_ROOT, 'bin', 'package.json'), join(scratch, 'bin', 'package.json'));
    await copyFile(FULL_BUNDLE, join(scratch, 'dist', 'stackctl.cjs'));
    const result = await execa(process.execPath, [join(scratch, 'bin', 'stackctl'), '--help'], {
      env: env(),
      reject: false,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Usage: stackctl [options] [command]');
    expect(await cacheFiles()).toEqual(['help.bin']);
  });
});

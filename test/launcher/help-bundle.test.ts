// A run that only prints (help or the version) runs dist/stackctl-help.cjs: the parser and every
// command's flags without what the commands do. It must print exactly what the full bundle prints.
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';
import { Terminal } from '../helpers/terminal.js';

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

/** The code caches kept (one per command and bundle). */
async function cacheFiles(): Promise<string[]> {
  const code = join(scratch, 'cache', 'code');
  const builds = await readdir(code).catch(() => []);
  const files = await Promise.all(builds.map((build) => readdir(join(code, build))));
  return files
    .flat()
    .filter((file) => file.endsWith('.bin'))
    .sort();
}

/** A copy of the launcher and both bundles, to change a bundle without touching the repository's. */
async function installCopy(): Promise<string> {
  await mkdir(join(scratch, 'bin'));
  await mkdir(join(scratch, 'dist'));
  await copyFile(BIN, join(scratch, 'bin', 'stackctl'));
  await copyFile(join(REPO_ROOT, 'bin', 'package.json'), join(scratch, 'bin', 'package.json'));
  await copyFile(FULL_BUNDLE, join(scratch, 'dist', 'stackctl.cjs'));
  await copyFile(HELP_BUNDLE, join(scratch, 'dist', 'stackctl-help.cjs'));
  return join(scratch, 'bin', 'stackctl');
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
    await installCopy();
    await rm(join(scratch, 'dist', 'stackctl-help.cjs'));
    const result = await execa(process.execPath, [join(scratch, 'bin', 'stackctl'), '--help'], {
      env: env(),
      reject: false,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Usage: stackctl [options] [command]');
    expect(await cacheFiles()).toEqual(['help.bin']);
  });
});

describe('the output a print-only run printed', () => {
  it('is printed back, with its exit code, without either bundle, to a run with the same inputs only', async () => {
    const bin = await installCopy();
    const run = (args: string[], extra: Record<string, string> = {}) =>
      execa(process.execPath, [bin, ...args], { cwd: scratch, env: { ...env(), ...extra }, reject: false });
    const first = await run(['--help']);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('Usage: stackctl [options] [command]');
    // The same build (the full bundle is unchanged), but a help bundle that can no longer print.
    await writeFile(join(scratch, 'dist', 'stackctl-help.cjs'), "throw new Error('the help bundle ran');\n");
    const again = await run(['--help']);
    expect({ out: again.stdout, err: again.stderr, exit: again.exitCode }).toEqual({
      out: first.stdout,
      err: first.stderr,
      exit: 0,
    });
    // Other arguments, or another colour setting, are another run: the (broken) bundle runs.
    for (const [args, extra] of [
      [['help', 'validate'], {}],
      [['--help'], { FORCE_COLOR: '1' }],
      [['--help'], { TERM: 'dumb' }],
    ] as const) {
      const other = await run([...args], extra);
      expect(other.exitCode, `${args.join(' ')} ${JSON.stringify(extra)}`).toBe(1);
      expect(other.stderr).toContain('the help bundle ran');
    }
    // Kept as the other caches are: 0600 in a 0700 folder, and of this build only.
    const [build] = await readdir(join(scratch, 'cache', 'code'));
    const folder = join(scratch, 'cache', 'code', build ?? '', 'printed');
    const [entry] = await readdir(folder);
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(join(folder, entry ?? ''))).mode & 0o777).toBe(0o600);
  });

  it('is kept per terminal width: help on a wider terminal is wrapped to it', async () => {
    const lines = async (columns: number): Promise<string[]> => {
      const terminal = await Terminal.open([BIN, '--help'], { cwd: scratch, env: env(), columns, rows: 200 });
      try {
        expect(await terminal.exitCode(20_000)).toBe(0);
        return await terminal.visibleLines();
      } finally {
        await terminal.close();
      }
    };
    const narrow = await lines(60);
    const wide = await lines(150);
    const longest = (text: string[]) => Math.max(...text.map((line) => line.trimEnd().length));
    expect(longest(narrow)).toBeLessThanOrEqual(60);
    expect(longest(wide)).toBeGreaterThan(60);
    // The narrow one again: printed back as it was, not the wide one.
    expect(await lines(60)).toEqual(narrow);
  }, 60_000);
});

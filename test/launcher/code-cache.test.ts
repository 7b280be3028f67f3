// bin/stackctl compiles its bundle (dist/stackctl.cjs, or dist/stackctl-help.cjs for a run that only
// prints) through V8's code cache kept in the user's cache folder.
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const BIN = join(REPO_ROOT, 'bin', 'stackctl');
let cacheDir: string;

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'stackctl-code-cache-'));
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

async function run(args: string[], env: Record<string, string> = {}) {
  return execa(BIN, args, { env: { NO_COLOR: '1', STACKCTL_CACHE_DIR: cacheDir, ...env }, reject: false });
}

async function buildFolders(): Promise<string[]> {
  return readdir(join(cacheDir, 'code')).catch(() => []);
}

describe('the code cache', () => {
  it('is written once per command and bundle, 0600 in 0700 folders, and read back unchanged', async () => {
    const first = await run(['--version']);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^stackctl \d+\.\d+\.\d+/);
    const [build] = await buildFolders();
    expect(build).toMatch(new RegExp(`^${process.version}-${process.arch}-\\d+-\\d+$`));
    const file = join(cacheDir, 'code', build!, 'help-bundle.version.bin');
    const written = await stat(file);
    expect(written.mode & 0o777).toBe(0o600);
    expect((await stat(join(cacheDir, 'code'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(cacheDir, 'code', build!))).mode & 0o777).toBe(0o700);
    expect(written.size).toBeGreaterThan(5_000);

    const second = await run(['--version']);
    expect(second.stdout).toBe(first.stdout);
    expect((await stat(file)).mtimeMs).toBe(written.mtimeMs);

    expect((await run(['--help'])).exitCode).toBe(0);
    // A command runs the full bundle: its own file beside the help bundle's, in the same build.
    const missing = await run(['validate', '--schema', join(cacheDir, 'missing.yaml')]);
    expect(missing.exitCode).toBe(2);
    const names = (await readdir(join(cacheDir, 'code', build!))).filter((name) => name.endsWith('.bin'));
    expect(names.sort()).toEqual(['help-bundle.help.bin', 'help-bundle.version.bin', 'validate.bin']);
    const full = await stat(join(cacheDir, 'code', build!, 'validate.bin'));
    expect(full.size).toBeGreaterThan(written.size);
  });

  it("keeps a cold run's cache apart: the runs that repeat get one of just what they compile", async () => {
    const project = join(cacheDir, 'project');
    await mkdir(join(project, 'schemas'), { recursive: true });
    const schemaPath = join(project, 'schemas', 'compose-schema.yaml');
    const schema = await readFile(join(REPO_ROOT, 'schemas', 'compose-schema.yaml'), 'utf8');
    await writeFile(schemaPath, schema);
    const validate = async () => {
      // Touched, so that no run is printed back unrun (the schema's times are part of that key).
      await utimes(schemaPath, new Date(), new Date());
      const result = await execa(BIN, ['validate'], {
        cwd: project,
        env: { NO_COLOR: '1', STACKCTL_CACHE_DIR: cacheDir },
        reject: false,
      });
      expect(result.exitCode).toBe(0);
      const [build] = await buildFolders();
      const folder = join(cacheDir, 'code', build!);
      const names = (await readdir(folder)).filter((name) => name.endsWith('.bin')).sort();
      return {
        folder,
        names,
        sizes: await Promise.all(names.map(async (name) => (await stat(join(folder, name))).size)),
      };
    };
    // The first run validates the schema (a cold run): its cache holds the rules it compiled.
    const cold = await validate();
    expect(cold.names).toEqual(['validate.cold.bin']);
    // The next reads the result back: it ran with that cache, so it saves none, and drops it.
    expect((await validate()).names).toEqual([]);
    // The one after saves what such a run compiles: far less.
    const warm = await validate();
    expect(warm.names).toEqual(['validate.bin']);
    expect(warm.sizes[0]! * 2).toBeLessThan(cold.sizes[0]!);
    const saved = (await stat(join(warm.folder, 'validate.bin'))).mtimeMs;
    // An edited schema is validated again (cold) with that cache, which it leaves as it is.
    await writeFile(schemaPath, `${schema}# edited\n`);
    expect((await validate()).names).toEqual(['validate.bin']);
    expect((await stat(join(warm.folder, 'validate.bin'))).mtimeMs).toBe(saved);
  });

  it('is rewritten when V8 refuses it, and the command still runs', async () => {
    const missing = ['validate', '--schema', join(cacheDir, 'missing.yaml')];
    await run(missing);
    const [build] = await buildFolders();
    const file = join(cacheDir, 'code', build!, 'validate.bin');
    await writeFile(file, 'not a code cache');
    const result = await run(missing);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('missing.yaml');
    expect((await readFile(file)).toString('latin1')).not.toBe('not a code cache');
  });

  it("drops other builds' caches when it writes one", async () => {
    const stale = join(cacheDir, 'code', 'v0.0.0-x64-1-1');
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'help.bin'), 'old');
    await run(['--help']);
    const folders = await buildFolders();
    expect(folders).toHaveLength(1);
    expect(folders[0]).not.toBe('v0.0.0-x64-1-1');
  });

  it('STACKCTL_CODE_CACHE=0 writes nothing; an unwritable folder is no error', async () => {
    const off = await run(['--version'], { STACKCTL_CODE_CACHE: '0' });
    expect(off.exitCode).toBe(0);
    expect(await buildFolders()).toEqual([]);
    await writeFile(join(cacheDir, 'code'), 'a file where the folder would be');
    const blocked = await run(['--version']);
    expect(blocked.exitCode).toBe(0);
    expect(blocked.stderr).toBe('');
  });
});

// bin/stackctl prints back what validate printed, to the same run again (arguments, folder, terminal,
// colour settings) while the files it read are unchanged: the schema, and the nearer folders that
// had none. Proven with a full bundle that can no longer run (same size and time, so the same build).
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changedLongAgo } from '../../src/replay.js';
import { REPO_ROOT } from '../helpers/paths.js';

let scratch: string;
const BUILD_TIME = 1_780_000_000;

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stackctl-validate-replay-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function installCopy(): Promise<string> {
  await mkdir(join(scratch, 'bin'));
  await mkdir(join(scratch, 'dist'));
  await copyFile(join(REPO_ROOT, 'bin', 'stackctl'), join(scratch, 'bin', 'stackctl'));
  await copyFile(join(REPO_ROOT, 'bin', 'package.json'), join(scratch, 'bin', 'package.json'));
  await copyFile(join(REPO_ROOT, 'dist', 'stackctl.cjs'), join(scratch, 'dist', 'stackctl.cjs'));
  // A whole second: a time that survives being set again exactly (the build is named by it).
  await utimes(join(scratch, 'dist', 'stackctl.cjs'), BUILD_TIME, BUILD_TIME);
  await copyFile(join(REPO_ROOT, 'dist', 'stackctl-help.cjs'), join(scratch, 'dist', 'stackctl-help.cjs'));
  return join(scratch, 'bin', 'stackctl');
}

/** The full bundle replaced by one that fails, of the same size and time: the build is the same. */
async function breakFullBundle(): Promise<void> {
  const path = join(scratch, 'dist', 'stackctl.cjs');
  const before = await stat(path);
  const failing = "throw new Error('the full bundle ran');\n";
  await writeFile(path, failing + '/'.repeat(before.size - failing.length - 1) + '\n');
  await utimes(path, BUILD_TIME, BUILD_TIME);
  expect((await stat(path)).size).toBe(before.size);
  // V8 would take the old code from the code cache for a source of the same length: no cache.
  const code = join(scratch, 'cache', 'code');
  for (const build of await readdir(code))
    for (const file of await readdir(join(code, build)))
      if (file.endsWith('.bin')) await rm(join(code, build, file));
}

describe('validate, run again', () => {
  it('prints back what it printed while the schema and the folders searched are as they were', async () => {
    const bin = await installCopy();
    const project = join(scratch, 'project');
    const sub = join(project, 'sub');
    await mkdir(join(project, 'schemas'), { recursive: true });
    await mkdir(sub);
    const schemaPath = join(project, 'schemas', 'compose-schema.yaml');
    await writeFile(schemaPath, await readFile(join(REPO_ROOT, 'schemas', 'compose-schema.yaml'), 'utf8'));
    // A schema changed within the last second is not kept (src/replay.ts): let it settle.
    await sleep(1_100);
    const validate = (cwd: string, args: string[] = []) =>
      execa(process.execPath, [bin, 'validate', ...args], {
        cwd,
        env: { NO_COLOR: '1', STACKCTL_CACHE_DIR: join(scratch, 'cache') },
        reject: false,
      });
    const inProject = await validate(project);
    const inSub = await validate(sub);
    expect(inProject.exitCode).toBe(0);
    expect(inProject.stderr).toContain('schemas/compose-schema.yaml is valid');
    expect(inSub.stderr).toContain(`${schemaPath} is valid`);

    await breakFullBundle();
    for (const [cwd, first] of [
      [project, inProject],
      [sub, inSub],
    ] as const) {
      const again = await validate(cwd);
      expect({ out: again.stdout, err: again.stderr, exit: again.exitCode }).toEqual({
        out: first.stdout,
        err: first.stderr,
        exit: 0,
      });
    }
    const ranBundle = async (cwd: string, args: string[] = []) => {
      const result = await validate(cwd, args);
      return result.exitCode === 1 && result.stderr.includes('the full bundle ran');
    };
    // Other flags, another folder: another run.
    expect(await ranBundle(project, ['--json'])).toBe(true);
    expect(await ranBundle(join(project, 'schemas'))).toBe(true);
    // A schema in a nearer folder, where there was none: found first, so the kept output is stale.
    await mkdir(join(sub, 'schemas'));
    await writeFile(join(sub, 'schemas', 'compose-schema.yaml'), 'version: "1.0"\n');
    expect(await ranBundle(sub)).toBe(true);
    // The schema edited, or only touched: read again.
    await utimes(schemaPath, new Date(), new Date());
    expect(await ranBundle(project)).toBe(true);
  }, 60_000);

  it('is kept only for a schema that changed more than a second before it was read', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    const signature = (changedMs: number) => `2049:1234:46187:${BigInt(changedMs) * 1_000_000n}:0`;
    expect(changedLongAgo(signature(now - 5_000), now)).toBe(true);
    expect(changedLongAgo(signature(now - 1_001), now)).toBe(true);
    expect(changedLongAgo(signature(now - 999), now)).toBe(false);
    expect(changedLongAgo(signature(now - 3), now)).toBe(false);
  });
});

// `stackctl status` runs dist/stackctl-status.cjs, the quick status path alone, and the full bundle
// only for a run that path cannot answer. Proven with a copy whose full bundle can no longer run.
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

let scratch: string;
let bin: string;
let project: string;

const run = (args: string[], cwd = project) =>
  execa(process.execPath, [bin, ...args], {
    cwd,
    env: { NO_COLOR: '1', STACKCTL_CACHE_DIR: join(scratch, 'cache') },
    reject: false,
  });

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stackctl-status-bundle-'));
  await mkdir(join(scratch, 'bin'));
  await mkdir(join(scratch, 'dist'));
  bin = join(scratch, 'bin', 'stackctl');
  await copyFile(join(REPO_ROOT, 'bin', 'stackctl'), bin);
  await copyFile(join(REPO_ROOT, 'bin', 'package.json'), join(scratch, 'bin', 'package.json'));
  for (const bundle of ['stackctl.cjs', 'stackctl-help.cjs', 'stackctl-status.cjs'])
    await copyFile(join(REPO_ROOT, 'dist', bundle), join(scratch, 'dist', bundle));
  project = join(scratch, 'project');
  await mkdir(join(project, 'schemas'), { recursive: true });
  await writeFile(
    join(project, 'schemas', 'compose-schema.yaml'),
    await readFile(join(REPO_ROOT, 'schemas', 'compose-schema.yaml'), 'utf8'),
  );
  // As after any generate: the schema is recorded as valid, so status need not load it.
  const generated = await run(['generate', 'testing']);
  expect(generated.exitCode, generated.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('the status bundle', () => {
  it('is a small part of the program', async () => {
    const status = await stat(join(REPO_ROOT, 'dist', 'stackctl-status.cjs'));
    const full = await stat(join(REPO_ROOT, 'dist', 'stackctl.cjs'));
    expect(status.size * 20).toBeLessThan(full.size);
  });

  it('answers status alone, and hands what it cannot answer to the full bundle, which answers it once', async () => {
    const answered = await run(['status', 'testing']);
    const unknown = await run(['status', 'nope']);
    expect(answered.exitCode, answered.stderr).toBe(0);
    expect(answered.stdout).toContain('testing: no containers');
    // An environment the recorded schema does not have: the full program says so, once.
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.match(/unknown environment "nope"/g)).toHaveLength(1);

    await writeFile(join(scratch, 'dist', 'stackctl.cjs'), "throw new Error('the full bundle ran');\n");
    const alone = await run(['status', 'testing']);
    expect({ out: alone.stdout, exit: alone.exitCode }).toEqual({ out: answered.stdout, exit: 0 });
    for (const args of [
      ['status', 'nope'],
      ['status', 'testing', '--verbose'],
    ]) {
      const handedOn = await run(args);
      expect(handedOn.exitCode, args.join(' ')).toBe(1);
      expect(handedOn.stderr).toContain('the full bundle ran');
    }
  }, 60_000);
});

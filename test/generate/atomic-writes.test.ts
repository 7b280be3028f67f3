import { mkdtemp, readFile, readdir, rm, writeFile, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFiles } from '../../src/effects/apply-files.js';
import { writeFileAtomic } from '../../src/effects/files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stackctl-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole, with its mode set before it appears', async () => {
    const path = join(dir, 'secret.json');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new content', { mode: 0o600 });
    expect(await readFile(path, 'utf8')).toBe('new content');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['secret.json']);
  });

  it('leaves the old file and no temporary file when the rename fails', async () => {
    const target = join(dir, 'taken');
    await mkdir(join(target, 'inside'), { recursive: true });
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['taken']);
  });
});

describe('applyFiles', () => {
  it('leaves every earlier file whole when a later write fails', async () => {
    await writeFile(join(dir, 'blocker'), 'a file where a folder is needed');
    const files = [
      { path: 'one.yml', content: 'one\n', mode: 0o644 },
      { path: 'two.env', content: 'two\n', mode: 0o600 },
      { path: 'blocker/three.yml', content: 'three\n', mode: 0o644 },
      { path: 'four.yml', content: 'four\n', mode: 0o644 },
    ];
    await expect(applyFiles(dir, dir, files, { check: false })).rejects.toThrow();
    expect(await readFile(join(dir, 'one.yml'), 'utf8')).toBe('one\n');
    expect(await readFile(join(dir, 'two.env'), 'utf8')).toBe('two\n');
    expect((await readdir(dir)).sort()).toEqual(['blocker', 'one.yml', 'two.env']);
  });

  it('stops before the next file once cancelled (Ctrl-C)', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      applyFiles(dir, dir, [{ path: 'a', content: 'a', mode: 0o644 }], {
        check: false,
        signal: controller.signal,
      }),
    ).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });

  it('rewrites a file whose content is right but whose mode is wrong', async () => {
    await writeFile(join(dir, '.env.x'), 'S=1\n', { mode: 0o644 });
    const [result] = await applyFiles(dir, dir, [{ path: '.env.x', content: 'S=1\n', mode: 0o600 }], {
      check: false,
    });
    expect(result?.status).toBe('updated');
    expect((await stat(join(dir, '.env.x'))).mode & 0o777).toBe(0o600);
  });
});

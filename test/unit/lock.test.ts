// The environment lock under contention: many runs trying at once, on a real filesystem.
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/effects/lock.js';
import { StackctlError } from '../../src/errors.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stackctl-lock-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('acquireLock', () => {
  it('never lets two contenders hold it at once, and lets them take turns', async () => {
    // Start from a stale lock, so the contenders also race to take it over.
    await mkdir(join(root, '.stackctl', 'locks'), { recursive: true });
    await writeFile(
      join(root, '.stackctl', 'locks', 'development.lock'),
      JSON.stringify({ pid: 2 ** 22 + 13, command: 'start development', startedAt: '2026-01-01T00:00:00Z' }),
    );
    // Start from a stale lock, so the contenders also race to take it over.
    await mkdir(join(root, '.stackctl', 'locks'), { recursive: true });
    await writeFile(
      join(root, '.stackctl', 'locks', 'development.lock'),
      JSON.stringify({ pid: 2 ** 22 + 13, command: 'start development', startedAt: '2026-01-01T00:00:00Z' }),
    );
    let holding = 0;
    let most = 0;
    let turns = 0;
    const contender = async (): Promise<void> => {
      for (let tries = 0; tries < 200; tries++) {
        try {
          const lock = await acquireLock(root, 'development', 'start development');
          holding += 1;
          most = Math.max(most, holding);
          await pause(2);
          holding -= 1;
          turns += 1;
          await lock.release();
          return;
        } catch (error) {
          if (!(error instanceof StackctlError) || error.exitCode !== 4) throw error;
          await pause(1 + Math.random() * 4);
        }
      }
    };
    await Promise.all(Array.from({ length: 24 }, contender));
    expect(most).toBe(1);
    expect(turns).toBe(24);
    expect(await readdir(join(root, '.stackctl', 'locks'))).toEqual([]);
  });

  it('refuses while a live process holds it, naming it; takes over a claim whose process is gone', async () => {
    const held = await acquireLock(root, 'staging', 'start staging');
    await expect(acquireLock(root, 'staging', 'wipe')).rejects.toThrow(
      `staging is locked by \`stackctl start staging\` (pid ${process.pid}`,
    );
    // Another environment is not affected.
    await (await acquireLock(root, 'production', 'start production')).release();
    await held.release();
    // A lock left by a killed run (its process is gone), and an empty one: both stale.
    const folder = join(root, '.stackctl', 'locks');
    await mkdir(folder, { recursive: true });
    const dead = JSON.stringify({
      pid: 2 ** 22 + 11,
      command: 'start staging',
      startedAt: '2026-01-01T00:00:00Z',
    });
    for (const content of [dead, '']) {
      await writeFile(join(folder, 'staging.lock'), content);
      const taken = await acquireLock(root, 'staging', 'start staging');
      expect(await readdir(folder)).toEqual(['staging.lock']);
      await taken.release();
      expect(await readdir(folder)).toEqual([]);
    }
  });
});

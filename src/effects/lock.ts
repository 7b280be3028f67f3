import { randomBytes } from 'node:crypto';
import { link, mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StackctlError } from '../errors.js';
import { ensureDirectory, isErrno, isProcessAlive, readRegularText, writeFileAtomic } from './files.js';
import { stateDirectory } from './state.js';

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  command: string;
  startedAt: string;
  /** Tells this run's lock from a later one of the same process. */
  nonce?: string;
}

/** A takeover of a stale lock lasts milliseconds; one older than this was left by a killed run. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * One lock per project and environment (.stackctl/locks/<env>.lock), so two runs never drive the
 * same environment at once.
 *
 * The lock file appears whole or not at all: its content is written to a file of our own, then
 * hard-linked to the lock's name, which fails if the lock exists. A lock whose process is gone is
 * stale; it is removed only inside a short takeover section (an exclusive mkdir), after checking it
 * is still that same stale lock, so two runs that both found it stale cannot both take it.
 */
export async function acquireLock(root: string, environment: string, command: string): Promise<Lock> {
  const folder = join(stateDirectory(root), 'locks');
  await ensureDirectory(folder, 0o755);
  const path = join(folder, `${environment}.lock`);
  const own: Holder = {
    pid: process.pid,
    command,
    startedAt: new Date().toISOString(),
    nonce: randomBytes(6).toString('hex'),
  };
  const draft = join(folder, `${environment}.${process.pid}-${own.nonce ?? ''}.claim`);
  await writeFileAtomic(draft, `${JSON.stringify(own)}\n`);
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        await link(draft, path);
        return { path, release: () => releaseIfOurs(path, own) };
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      // Which file is there now: it may be released (gone) by the time it is read.
      const found = await stat(path).catch(() => undefined);
      if (!found) continue;
      const holder = await readHolder(path);
      if (holder && isProcessAlive(holder.pid)) {
        throw new StackctlError(
          'E_REFUSED',
          `${environment} is locked by \`stackctl ${holder.command}\` (pid ${holder.pid}, since ${holder.startedAt})`,
          { hint: `wait for it to finish, or stop it (kill ${holder.pid})` },
        );
      }
      // Its process is gone, or it holds no readable claim: stale.
      await removeIfStill(path, found.ino);
    }
    throw new StackctlError('E_REFUSED', `could not take the lock of ${environment}`, {
      hint: `remove ${path} if no stackctl runs`,
    });
  } finally {
    await rm(draft, { force: true });
  }
}

/**
 * Removes a stale lock, but only if it is still the same file (inode) that was judged stale, inside
 * the takeover section: no live run's lock can be removed by a takeover that looked too early.
 */
async function removeIfStill(path: string, staleInode: number): Promise<void> {
  const section = `${path}.takeover`;
  try {
    await mkdir(section);
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
    // Another run is taking it over; unless that run was killed inside its section.
    const age = Date.now() - ((await stat(section).catch(() => undefined))?.mtimeMs ?? Date.now());
    if (age > TAKEOVER_STALE_MS) await rmdir(section).catch(() => undefined);
    else await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 5));
    return;
  }
  try {
    // While the file is there, no other run can link a lock in its place, and its dead owner
    // cannot release it: if it is still the stale one, it is safe to remove.
    // (Inode numbers are reused, so the content is checked again too: a live run's lock stays.)
    const same = (await stat(path).catch(() => undefined))?.ino === staleInode;
    const holder = same ? await readHolder(path) : undefined;
    if (same && !(holder && isProcessAlive(holder.pid))) await rm(path, { force: true });
  } finally {
    await rmdir(section).catch(() => undefined);
  }
}

async function releaseIfOurs(path: string, own: Holder): Promise<void> {
  if (sameHolder(await readHolder(path), own)) await rm(path, { force: true });
}

function sameHolder(a: Holder | undefined, b: Holder): boolean {
  return a !== undefined && a.pid === b.pid && a.startedAt === b.startedAt && a.nonce === b.nonce;
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    const data = JSON.parse((await readRegularText(path)) ?? '') as Partial<Holder>;
    return typeof data.pid === 'number' ? (data as Holder) : undefined;
  } catch {
    return undefined;
  }
}

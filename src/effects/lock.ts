import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StackctlError } from '../errors.js';
import { ensureDirectory, isErrno, isProcessAlive, readRegularText } from './files.js';
import { stateDirectory } from './state.js';

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  command: string;
  startedAt: string;
}

/**
 * One lock per project and environment, so two runs never drive the same environment at once.
 * A lock left by a process that no longer exists is taken over.
 */
export async function acquireLock(root: string, environment: string, command: string): Promise<Lock> {
  const folder = join(stateDirectory(root), 'locks');
  await ensureDirectory(folder, 0o755);
  const path = join(folder, `${environment}.lock`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      const holder: Holder = { pid: process.pid, command, startedAt: new Date().toISOString() };
      await handle.writeFile(`${JSON.stringify(holder)}\n`);
      await handle.close();
      return {
        path,
        release: async () => {
          const current = await readHolder(path);
          if (current?.pid === process.pid) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
      const holder = await readHolder(path);
      if (holder && isProcessAlive(holder.pid)) {
        throw new StackctlError(
          'E_REFUSED',
          `${environment} is locked by \`stackctl ${holder.command}\` (pid ${holder.pid}, since ${holder.startedAt})`,
          { hint: `wait for it to finish, or stop it (kill ${holder.pid})` },
        );
      }
      // Stale: its process is gone (or the file is unreadable). Take it over.
      await rm(path, { force: true });
    }
  }
  throw new StackctlError('E_REFUSED', `could not take the lock of ${environment}`, {
    hint: `remove ${path} if no stackctl runs`,
  });
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    const data = JSON.parse((await readRegularText(path)) ?? '') as Partial<Holder>;
    return typeof data.pid === 'number' ? (data as Holder) : undefined;
  } catch {
    return undefined;
  }
}

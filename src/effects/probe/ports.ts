import { createSocket } from 'node:dgram';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { parseProcNetSockets } from '../../host/proc-net.js';

export type BindResult =
  { readonly free: true } | { readonly free: false; readonly code: string; readonly message: string };

/** Really binds the port on the address compose will publish it on, then lets it go. */
export async function tryBind(hostIp: string, port: number, protocol: 'tcp' | 'udp'): Promise<BindResult> {
  const host = hostIp === '' ? '0.0.0.0' : hostIp.replace(/^\[|\]$/g, '');
  return protocol === 'udp' ? tryBindUdp(host, port) : tryBindTcp(host, port);
}

function tryBindTcp(host: string, port: number): Promise<BindResult> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve({ free: false, code: error.code ?? 'ERROR', message: error.message });
    });
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve({ free: true }));
    });
  });
}

function tryBindUdp(host: string, port: number): Promise<BindResult> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve({ free: false, code: error.code ?? 'ERROR', message: error.message });
    });
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.close(() => resolve({ free: true }));
    });
  });
}

/**
 * Names the process listening on a port (e.g. "docker-proxy (pid 812)"), from /proc. Undefined when
 * the host does not tell (not Linux, or the process belongs to another user).
 */
export async function portHolder(port: number, protocol: 'tcp' | 'udp'): Promise<string | undefined> {
  const tables =
    protocol === 'udp' ? ['/proc/net/udp', '/proc/net/udp6'] : ['/proc/net/tcp', '/proc/net/tcp6'];
  const inodes = new Set<number>();
  for (const table of tables) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const socket of parseProcNetSockets(text)) {
      if (socket.port === port && socket.listening && socket.inode !== 0) inodes.add(socket.inode);
    }
  }
  if (inodes.size === 0) return undefined;
  const pids = await readdir('/proc').catch(() => [] as string[]);
  for (const pid of pids.filter((name) => /^\d+$/.test(name))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined && inodes.has(Number(inode))) {
        const name = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
        return `${name || 'process'} (pid ${pid})`;
      }
    }
  }
  return undefined;
}

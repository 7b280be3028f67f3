/** A listening socket from /proc/net/tcp, /proc/net/tcp6 or /proc/net/udp. */
export interface ProcSocket {
  readonly port: number;
  readonly inode: number;
  readonly listening: boolean;
}

/** Parses /proc/net/{tcp,tcp6,udp,udp6}: `local_address` is ADDR:PORT in hex; state 0A is LISTEN. */
export function parseProcNetSockets(text: string): ProcSocket[] {
  const sockets: ProcSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const port = parseInt((fields[1] ?? '').split(':')[1] ?? '', 16);
    const inode = Number(fields[9]);
    if (!Number.isInteger(port) || !Number.isInteger(inode)) continue;
    sockets.push({ port, inode, listening: fields[3] === '0A' || fields[3] === '07' });
  }
  return sockets;
}

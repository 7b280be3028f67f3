// Runs one verify check against one container: an HTTP request or a TCP connect to its address on
// its network (from this host, as the engine's bridge networks are routed here), or a command in it
// through docker exec. Says what came back; judging it is plan/verify.ts's.
import { request } from 'node:http';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

export interface ProbeAnswer {
  /** http: the status code; command: the exit code; tcp: 0 when it connected. */
  readonly code: number;
  readonly text: string;
}

/** The most of a body or output kept to judge it. */
const MAX_TEXT = 64 * 1024;

export function httpRequest(
  address: string,
  probe: {
    port: number;
    path: string;
    method: string;
    headers: Readonly<Record<string, string>>;
    body: string | undefined;
  },
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address,
        port: probe.port,
        path: probe.path,
        method: probe.method,
        headers: {
          ...probe.headers,
          ...(probe.body === undefined ? {} : { 'content-length': Buffer.byteLength(probe.body) }),
        },
        timeout: timeoutMs,
        signal,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < MAX_TEXT) text += chunk;
        });
        response.on('end', () => resolve({ code: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${String(timeoutMs / 1000)}s`)));
    req.on('error', reject);
    req.end(probe.body);
  });
}

export function tcpConnect(address: string, port: number, timeoutMs: number): Promise<ProbeAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ code: 0, text: '' });
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no connection within ${String(timeoutMs / 1000)}s`));
    });
    socket.once('error', reject);
  });
}

/** Runs argv in the container (no shell unless argv is one); its exit code and output. */
export async function execCommand(
  docker: Docker,
  containerId: string,
  argv: readonly string[],
  timeoutMs: number,
): Promise<ProbeAnswer> {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => {
    if (text.length < MAX_TEXT) text += chunk.toString('utf8');
  });
  docker.modem.demuxStream(stream, output, output);
  const finished = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy();
      resolve(false);
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  });
  if (!finished) throw new Error(`still running after ${String(timeoutMs / 1000)}s`);
  const info = await exec.inspect();
  return { code: info.ExitCode ?? 1, text };
}

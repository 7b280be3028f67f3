import { Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';

/**
 * Reads a container's logs line by line. Without a TTY Docker multiplexes stdout and stderr into
 * frames, which docker-modem's demuxStream takes apart; with a TTY (the container's Config.Tty) the
 * stream is the terminal's raw output. Each of stdout and stderr is split into lines on its own, so
 * a line is never cut in two by the other stream. Accepts a stream (follow) or a whole buffer.
 */
export function readLogLines(
  docker: Docker,
  logs: NodeJS.ReadableStream | Buffer,
  tty: boolean,
  onLine: (line: string) => void,
): Promise<void> {
  const source = Buffer.isBuffer(logs) ? Readable.from([logs]) : logs;
  const stdout = lineWriter(onLine);
  const stderr = lineWriter(onLine);
  return new Promise((resolve, reject) => {
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      // Resolve once both have flushed their last, unterminated line.
      let open = 2;
      const closed = (): void => {
        open -= 1;
        if (open === 0) resolve();
      };
      stdout.end(closed);
      stderr.end(closed);
    };
    if (tty) source.pipe(stdout, { end: false });
    else docker.modem.demuxStream(source, stdout, stderr);
    source.on('end', done);
    source.on('close', done);
    source.on('error', (error: Error) => (error.message.includes('aborted') ? done() : reject(error)));
  });
}

/** A writable that calls onLine for each complete line, and for the rest when it ends. */
function lineWriter(onLine: (line: string) => void): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line.replace(/\r$/, ''));
      callback();
    },
    final(callback) {
      if (pending !== '') onLine(pending);
      callback();
    },
  });
}

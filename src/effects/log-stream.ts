/**
 * Reads a followed Docker log stream line by line. Containers without a TTY send frames of
 * [stream, 0, 0, 0, size(4)] + payload; lines may span frames, and frames may span chunks.
 */
export function demuxStream(stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = Buffer.alloc(0);
    let text = '';
    let framed: boolean | undefined;
    const emitText = (chunk: string): void => {
      text += chunk;
      let newline = text.indexOf('\n');
      while (newline >= 0) {
        onLine(text.slice(0, newline));
        text = text.slice(newline + 1);
        newline = text.indexOf('\n');
      }
    };
    stream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      framed ??=
        pending.length >= 8 &&
        (pending[0] ?? 9) <= 2 &&
        pending[1] === 0 &&
        pending[2] === 0 &&
        pending[3] === 0;
      if (!framed) {
        emitText(pending.toString('utf8'));
        pending = Buffer.alloc(0);
        return;
      }
      while (pending.length >= 8) {
        const size = pending.readUInt32BE(4);
        if (pending.length < 8 + size) break;
        emitText(pending.subarray(8, 8 + size).toString('utf8'));
        pending = pending.subarray(8 + size);
      }
    });
    const done = (): void => {
      if (text !== '') onLine(text);
      resolve();
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', (error: Error) => (error.message.includes('aborted') ? done() : reject(error)));
  });
}

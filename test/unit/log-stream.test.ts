// Container logs as Docker sends them: multiplexed frames without a TTY, raw bytes with one.
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readLogLines } from '../../src/effects/log-stream.js';

const frame = (stream: 1 | 2, text: string): Buffer => {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};
const docker = new Docker({ socketPath: '/nonexistent.sock' });
const read = async (logs: Buffer | NodeJS.ReadableStream, tty: boolean): Promise<string[]> => {
  const lines: string[] = [];
  await readLogLines(docker, logs, tty, (line) => lines.push(line));
  return lines;
};

describe('readLogLines', () => {
  it("takes multiplexed frames apart, keeping each stream's lines whole", async () => {
    // stdout's line is split across frames, with a stderr line in between.
    const logs = Buffer.concat([
      frame(1, 'db: sta'),
      frame(2, 'warning: slow disk\n'),
      frame(1, 'rting\nready'),
    ]);
    expect(await read(logs, false)).toEqual(['warning: slow disk', 'db: starting', 'ready']);
  });

  it("reads a TTY container's raw output as it is, even when it starts like a frame header", async () => {
    const raw = Buffer.from('\u0001\u0000\u0000\u0000 tty line\r\nsecond\r\n', 'utf8');
    expect(await read(raw, true)).toEqual(['\u0001\u0000\u0000\u0000 tty line', 'second']);
  });

  it('follows a stream chunk by chunk, frames cut anywhere', async () => {
    const stream = new PassThrough();
    const lines = read(stream, false);
    const bytes = Buffer.concat([frame(1, 'one\n'), frame(1, 'two\nthr'), frame(1, 'ee\n')]);
    for (let i = 0; i < bytes.length; i += 3) stream.write(bytes.subarray(i, i + 3));
    stream.end();
    expect(await lines).toEqual(['one', 'two', 'three']);
  });
});

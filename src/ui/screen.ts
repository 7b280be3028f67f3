// A full-screen view on a terminal (stackctl top): the alternate screen, no cursor, keys read raw,
// redrawn in place, resized with the window. Whatever way it ends (q, Ctrl-C, SIGTERM, an error,
// the process exiting) the terminal gets back its screen, its cursor and cooked mode.
import { emitKeypressEvents } from 'node:readline';

export interface Key {
  /** readline's name: up, down, return, escape, backspace, or the character. */
  readonly name: string | undefined;
  readonly sequence: string;
  readonly ctrl: boolean;
}

export interface Screen {
  size(): { readonly columns: number; readonly rows: number };
  /** Draws these lines from the top (each is cleared to its end); nothing when the frame is the same. */
  draw(lines: readonly string[]): void;
  onKey(listener: (key: Key) => void): void;
  onResize(listener: () => void): void;
  close(): void;
}

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export function openScreen(input: NodeJS.ReadStream, output: NodeJS.WriteStream): Screen {
  let closed = false;
  let last = '';
  const keyListeners: ((key: Key) => void)[] = [];
  const resizeListeners: (() => void)[] = [];
  const onKeypress = (
    _text: string | undefined,
    key: { name?: string; sequence?: string; ctrl?: boolean } | undefined,
  ): void => {
    const event: Key = { name: key?.name, sequence: key?.sequence ?? _text ?? '', ctrl: key?.ctrl === true };
    for (const listener of keyListeners) listener(event);
  };
  const onResize = (): void => {
    last = '';
    for (const listener of resizeListeners) listener();
  };
  const restore = (): void => {
    if (closed) return;
    closed = true;
    input.off('keypress', onKeypress);
    output.off('resize', onResize);
    process.off('exit', restore);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    output.write(LEAVE);
  };

  emitKeypressEvents(input);
  if (input.isTTY) input.setRawMode(true);
  input.on('keypress', onKeypress);
  input.resume();
  output.on('resize', onResize);
  process.on('exit', restore);
  output.write(ENTER);

  return {
    size: () => ({ columns: output.columns, rows: output.rows }),
    draw(lines) {
      if (closed) return;
      const frame = `\x1b[H${lines.map((line) => `${line}\x1b[K`).join('\r\n')}\x1b[J`;
      if (frame === last) return;
      last = frame;
      output.write(frame);
    },
    onKey(listener) {
      keyListeners.push(listener);
    },
    onResize(listener) {
      resizeListeners.push(listener);
    },
    close: restore,
  };
}

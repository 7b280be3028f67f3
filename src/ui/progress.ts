import type { Ora } from 'ora';
import type { UiContext } from './terminal.js';

export interface Progress {
  /** True when a spinner redraws one line in place (a terminal); false for plain lines. */
  readonly animated: boolean;
  update(text: string): void;
  /** Prints a line of its own (above the spinner, which goes on). */
  log(line: string): void;
  stop(): void;
}

/**
 * A spinner redraws its line in place, which needs a terminal that says how wide it is: a width of
 * 0 (or none) would make it wrap forever. NO_COLOR, TERM=dumb and CI also get plain lines.
 */
export function canAnimate(ctx: UiContext): boolean {
  const stream = ctx.stderr as { isTTY?: boolean; columns?: number };
  if (stream.isTTY !== true) return false;
  if (ctx.env['CI'] !== undefined || ctx.env['TERM'] === 'dumb' || (ctx.env['NO_COLOR'] ?? '') !== '')
    return false;
  return typeof stream.columns === 'number' && stream.columns > 0;
}

/** Plain progress lines appear only for work that takes longer than this. */
const PLAIN_DELAY_MS = 1000;

/**
 * Shows that something is happening: an ora spinner on stderr when it is a terminal; otherwise a
 * plain line on stderr once the work has taken more than a second (logs stay clean for quick work).
 */
export function startProgress(ctx: UiContext, text: string): Progress {
  let current = text;
  let stopped = false;
  if (canAnimate(ctx)) {
    let spinner: Ora | undefined;
    void import('ora').then(({ default: ora }) => {
      if (stopped) return;
      spinner = ora({
        text: current,
        stream: ctx.stderr as NodeJS.WritableStream,
        color: 'cyan',
        // ora's default puts the terminal in raw mode to swallow keystrokes: Ctrl-C then never
        // becomes SIGINT. Keys typed while it spins are left alone instead.
        discardStdin: false,
      }).start();
    });
    return {
      animated: true,
      update(next) {
        current = next;
        if (spinner) spinner.text = next;
      },
      log(line) {
        const spinning = spinner !== undefined && !stopped;
        if (spinning) spinner?.clear();
        ctx.stderr.write(`${line}\n`);
        if (spinning) spinner?.render();
      },
      stop() {
        stopped = true;
        spinner?.stop();
      },
    };
  }
  let announced = false;
  const timer = setTimeout(() => {
    announced = true;
    ctx.stderr.write(`${current}…\n`);
  }, PLAIN_DELAY_MS);
  return {
    animated: false,
    update(next) {
      if (announced && next !== current) ctx.stderr.write(`${next}…\n`);
      current = next;
    },
    log(line) {
      ctx.stderr.write(`${line}\n`);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

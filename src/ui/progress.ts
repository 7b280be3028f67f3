import type { Ora } from 'ora';
import type { CommandContext } from '../cli/context.js';

export interface Progress {
  update(text: string): void;
  stop(): void;
}

/** Plain progress lines appear only for work that takes longer than this. */
const PLAIN_DELAY_MS = 1000;

/**
 * Shows that something is happening: an ora spinner on stderr when it is a terminal; otherwise a
 * plain line on stderr once the work has taken more than a second (logs stay clean for quick work).
 */
export function startProgress(ctx: CommandContext, text: string): Progress {
  let current = text;
  let stopped = false;
  if (ctx.stderr.isTTY === true && ctx.env['CI'] === undefined) {
    let spinner: Ora | undefined;
    void import('ora').then(({ default: ora }) => {
      if (stopped) return;
      spinner = ora({ text: current, stream: ctx.stderr as NodeJS.WritableStream, color: 'cyan' }).start();
    });
    return {
      update(next) {
        current = next;
        if (spinner) spinner.text = next;
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
    update(next) {
      if (announced && next !== current) ctx.stderr.write(`${next}…\n`);
      current = next;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

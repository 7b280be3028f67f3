import { createInterface } from 'node:readline';
import { EXIT, ReportedFailure, StackctlError } from '../errors.js';
import type { UiContext } from './terminal.js';

/**
 * Asks the user to type "yes" before something destructive. Without a terminal it refuses (exit 4)
 * unless --yes was given: scripts must say so explicitly. Ctrl-C at the question leaves quietly
 * (exit 130); end of input (Ctrl-D) and any answer but "yes" change nothing (exit 4).
 */
export async function confirm(ctx: UiContext, question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!ctx.interactive) {
    throw new StackctlError(
      'E_REFUSED',
      `${question.replace(/\?$/, '')}: refused without a terminal to confirm on`,
      {
        hint: 'pass --yes to confirm',
      },
    );
  }
  const answer = await ask(ctx, `${question} Type "yes" to go on: `);
  if (answer === 'interrupted') {
    ctx.stderr.write('\n');
    throw new ReportedFailure(EXIT.interrupted);
  }
  if (answer === 'end of input') {
    ctx.stderr.write('\n');
    throw new StackctlError('E_REFUSED', 'not confirmed (end of input); nothing changed');
  }
  if (answer.trim() !== 'yes') throw new StackctlError('E_REFUSED', 'cancelled, nothing changed');
}

/** One line typed at the terminal; Ctrl-C (a keystroke in raw mode, or SIGINT) and Ctrl-D are told apart. */
function ask(ctx: UiContext, prompt: string): Promise<string> {
  const readline = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise<string>((resolve) => {
    let settled = false;
    const settle = (value: string): void => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      readline.close();
      process.stdin.pause();
      resolve(value);
    };
    const onAbort = (): void => settle('interrupted');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    readline.on('SIGINT', () => settle('interrupted'));
    readline.on('close', () => settle('end of input'));
    readline.question(prompt, (line) => settle(line));
  });
}

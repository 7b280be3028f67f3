import { createInterface } from 'node:readline/promises';
import { StackctlError } from '../errors.js';
import type { CommandContext } from '../cli/context.js';

/**
 * Asks the user to type "yes" before something destructive. Without a terminal it refuses (exit 4)
 * unless --yes was given: scripts must say so explicitly.
 */
export async function confirm(ctx: CommandContext, question: string, yes: boolean): Promise<void> {
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
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await readline.question(`${question} Type "yes" to go on: `, { signal: ctx.signal });
    if (answer.trim() !== 'yes')
      throw new StackctlError('E_REFUSED', 'not confirmed; nothing was changed', {
        hint: 'type yes to go on',
      });
  } finally {
    readline.close();
  }
}

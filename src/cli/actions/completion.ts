import type { Command } from 'commander';
import { StackctlError } from '../../errors.js';
import { readSchema } from '../../effects/schema-file.js';
import { parseFast } from '../../schema/parse-fast.js';
import { commandShapes, renderCompletion, SHELLS, type Shell } from '../completion.js';
import { printLine, type CommandContext } from '../context.js';

/** Prints the completion script for a shell, or (--environments) the schema's environment names. */
export async function completionAction(
  program: Command,
  shell: string | undefined,
  flags: { environments?: boolean; schema?: string },
  ctx: CommandContext,
): Promise<void> {
  if (flags.environments === true) {
    // Asked at every Tab: never fail, and read a half-edited schema as far as it parses.
    const source = await readSchema(flags.schema, ctx.cwd).catch(() => undefined);
    const parsed = source ? parseFast(source.text) : { ok: false as const };
    const environments = parsed.ok ? (parsed.data as { environments?: unknown }).environments : undefined;
    if (environments && typeof environments === 'object')
      for (const name of Object.keys(environments)) printLine(ctx.stdout, name);
    return;
  }
  if (!SHELLS.includes(shell as Shell)) {
    throw new StackctlError(
      'E_USAGE',
      shell === undefined ? 'which shell?' : `no completion for "${shell}"`,
      {
        hint: `stackctl completion ${SHELLS.join('|')}`,
      },
    );
  }
  ctx.stdout.write(renderCompletion(shell as Shell, commandShapes(program)));
}

import type { Command } from 'commander';
import { StackctlError } from '../../errors.js';
import { readStackLoosely } from '../../lifecycle/stack-loading.js';
import { commandShapes, renderCompletion, SHELLS, type Shell } from '../completion.js';
import { printLine, type CommandContext } from '../context.js';

/** Prints the completion script for a shell, or (--environments) the schema's environment names. */
export async function completionAction(
  program: Command,
  shell: string | undefined,
  flags: { environments?: boolean; stacks?: boolean; services?: boolean; schema?: string },
  ctx: CommandContext,
): Promise<void> {
  if (flags.environments === true || flags.stacks === true || flags.services === true) {
    // Asked at every Tab: never fail, and read a half-edited schema as far as it parses.
    const data = (await readStackLoosely(flags.schema, ctx)) as Partial<CompletionSource>;
    for (const name of completionWords(data, flags, shell)) printLine(ctx.stdout, name);
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

interface CompletionSource {
  environments: Record<string, { services?: unknown } | null>;
  services: Record<string, { stack?: unknown } | null>;
}

/** Environment names; or the services (or their stacks) of one environment, every one without it. */
function completionWords(
  data: Partial<CompletionSource>,
  flags: { environments?: boolean; stacks?: boolean },
  envName: string | undefined,
): string[] {
  const environments = typeof data.environments === 'object' && data.environments ? data.environments : {};
  if (flags.environments === true) return Object.keys(environments);
  const services = typeof data.services === 'object' && data.services ? data.services : {};
  const listed = envName === undefined ? undefined : environments[envName]?.services;
  const names = Array.isArray(listed)
    ? listed.filter((name): name is string => typeof name === 'string')
    : Object.keys(services);
  if (flags.stacks !== true) return names;
  return [
    ...new Set(
      names
        .map((name) => services[name]?.stack)
        .filter((stack): stack is string => typeof stack === 'string'),
    ),
  ];
}

import type { Command } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface CommandShape {
  /** "start", or "secrets rotate" for a subcommand. */
  readonly path: string;
  readonly options: readonly string[];
  readonly subcommands: readonly string[];
  /** Whether its first argument is an environment name (completed from the schema). */
  readonly takesEnvironment: boolean;
}

/** The commands, subcommands and long options of the program, as completion scripts need them. */
export function commandShapes(program: Command): CommandShape[] {
  const shapes: CommandShape[] = [];
  const visit = (command: Command, prefix: string): void => {
    for (const sub of command.commands) {
      const path = prefix === '' ? sub.name() : `${prefix} ${sub.name()}`;
      const first = sub.registeredArguments[0]?.name() ?? '';
      shapes.push({
        path,
        options: sub.options
          .map((option) => option.long)
          .filter((long): long is string => long !== undefined),
        subcommands: sub.commands.map((child) => child.name()),
        takesEnvironment: first === 'env',
      });
      visit(sub, path);
    }
  };
  visit(program, '');
  return shapes;
}

/**
 * A completion script for the shell: commands, subcommands and options from the program itself, and
 * environment names from the schema, asked at completion time (`stackctl completion --environments`).
 */
export function renderCompletion(shell: Shell, shapes: readonly CommandShape[]): string {
  return shell === 'fish' ? renderFish(shapes) : renderBash(shapes, shell === 'zsh');
}

function renderBash(shapes: readonly CommandShape[], zsh: boolean): string {
  const top = shapes.filter((shape) => !shape.path.includes(' ')).map((shape) => shape.path);
  const cases = shapes.map((shape) => {
    const words = [...shape.subcommands, ...shape.options, '--help'].join(' ');
    return `    '${shape.path}') words="${words}"; envs=${shape.takesEnvironment ? 1 : 0} ;;`;
  });
  return [
    '# stackctl completion for ' +
      (zsh ? 'zsh' : 'bash') +
      ': source it, or save it where your shell loads completions.',
    ...(zsh ? ['autoload -U +X bashcompinit && bashcompinit'] : []),
    '_stackctl() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}"',
    '  local cmdpath="" word i',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word="${COMP_WORDS[i]}"',
    '    [[ "$word" == -* ]] && continue',
    '    case "${cmdpath:+$cmdpath }$word" in',
    ...shapes.map((shape) => `      '${shape.path}') cmdpath="${shape.path}" ;;`),
    '      *) break ;;',
    '    esac',
    '  done',
    '  local words="" envs=0',
    '  case "$cmdpath" in',
    `    '') words="${top.join(' ')} --help --version" ;;`,
    ...cases,
    '  esac',
    '  if [[ "$cur" != -* && $envs == 1 ]]; then',
    '    words="$words $(stackctl completion --environments 2>/dev/null)"',
    '  fi',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    'complete -F _stackctl stackctl',
    '',
  ].join('\n');
}

function renderFish(shapes: readonly CommandShape[]): string {
  const top = shapes.filter((shape) => !shape.path.includes(' '));
  const lines = [
    '# stackctl completion for fish: save as ~/.config/fish/completions/stackctl.fish',
    'complete -c stackctl -f',
    `complete -c stackctl -n '__fish_use_subcommand' -a '${top.map((shape) => shape.path).join(' ')}'`,
  ];
  for (const shape of shapes) {
    const words = shape.path.split(' ');
    const last = words[words.length - 1] ?? '';
    const parent = words.slice(0, -1);
    const seen = (names: readonly string[]): string =>
      names.map((name) => `__fish_seen_subcommand_from ${name}`).join('; and ');
    if (parent.length > 0) lines.push(`complete -c stackctl -n '${seen(parent)}' -a '${last}'`);
    for (const option of shape.options)
      lines.push(`complete -c stackctl -n '${seen(words)}' -l '${option.replace(/^--/, '')}'`);
    if (shape.takesEnvironment)
      lines.push(
        `complete -c stackctl -n '${seen(words)}' -a '(stackctl completion --environments 2>/dev/null)'`,
      );
  }
  return `${lines.join('\n')}\n`;
}

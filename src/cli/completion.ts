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
  /** Whether its second argument is a service of that environment (logs). */
  readonly takesService: boolean;
  /** Options that take a value, with the words that complete it: choices, stacks, services, or none. */
  readonly valueOptions: readonly {
    readonly name: string;
    readonly values: readonly string[] | 'stacks' | 'services';
  }[];
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
        takesService: sub.registeredArguments[1]?.name() === 'service',
        valueOptions: sub.options
          .filter((option) => option.long !== undefined && (option.required || option.optional))
          .map((option) => ({
            name: option.long ?? '',
            values:
              option.long === '--stack'
                ? ('stacks' as const)
                : option.long === '--service'
                  ? ('services' as const)
                  : (option.argChoices ?? []),
          })),
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
    const valueOptions = shape.valueOptions.map((option) => option.name).join(' ');
    return `    '${shape.path}') words="${words}"; envs=${shape.takesEnvironment ? 1 : 0}; services=${shape.takesService ? 1 : 0}; valueopts="${valueOptions}" ;;`;
  });
  // After an option that takes a value, only its values: choices, the environment's stacks or services.
  const valueCases = shapes.flatMap((shape) =>
    shape.valueOptions.map((option) => {
      const source =
        option.values === 'stacks'
          ? '$(stackctl completion --stacks "${args[0]}" 2>/dev/null)'
          : option.values === 'services'
            ? '$(stackctl completion --services "${args[0]}" 2>/dev/null)'
            : option.values.join(' ');
      return `    '${shape.path} ${option.name}') words="${source}" ;;`;
    }),
  );
  return [
    '# stackctl completion for ' +
      (zsh ? 'zsh' : 'bash') +
      ': source it, or save it where your shell loads completions.',
    ...(zsh ? ['autoload -U +X bashcompinit && bashcompinit'] : []),
    '_stackctl() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  local cmdpath="" word i j',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word="${COMP_WORDS[i]}"',
    '    [[ "$word" == -* ]] && continue',
    '    case "${cmdpath:+$cmdpath }$word" in',
    ...shapes.map((shape) => `      '${shape.path}') cmdpath="${shape.path}" ;;`),
    '      *) break ;;',
    '    esac',
    '  done',
    '  local words="" envs=0 services=0 valueopts=""',
    '  case "$cmdpath" in',
    `    '') words="${top.join(' ')} --help --version" ;;`,
    ...cases,
    '  esac',
    "  # The arguments given so far (an option's value is not one).",
    '  local args=() skip=0',
    '  for ((j = i; j < COMP_CWORD; j++)); do',
    '    word="${COMP_WORDS[j]}"',
    '    if ((skip)); then skip=0; continue; fi',
    '    if [[ "$word" == -* ]]; then [[ " $valueopts " == *" $word "* ]] && skip=1; continue; fi',
    '    args+=("$word")',
    '  done',
    '  if [[ -n "$valueopts" && " $valueopts " == *" $prev "* ]]; then',
    '    words=""',
    '    case "$cmdpath $prev" in',
    ...valueCases,
    '    esac',
    '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '    return',
    '  fi',
    '  if [[ "$cur" != -* ]]; then',
    '    if [[ ${#args[@]} -eq 0 && $envs == 1 ]]; then',
    '      words="$words $(stackctl completion --environments 2>/dev/null)"',
    '    elif [[ ${#args[@]} -eq 1 && $services == 1 ]]; then',
    '      words="$words $(stackctl completion --services "${args[0]}" 2>/dev/null)"',
    '    fi',
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
    for (const option of shape.options) {
      const value = shape.valueOptions.find((candidate) => candidate.name === option);
      // -x: the option takes a value, so no environment name is offered after it.
      const values =
        value === undefined
          ? ''
          : value.values === 'stacks'
            ? " -x -a '(stackctl completion --stacks 2>/dev/null)'"
            : value.values === 'services'
              ? " -x -a '(stackctl completion --services 2>/dev/null)'"
              : value.values.length > 0
                ? ` -x -a '${value.values.join(' ')}'`
                : ' -x';
      lines.push(`complete -c stackctl -n '${seen(words)}' -l '${option.replace(/^--/, '')}'${values}`);
    }
    if (shape.takesEnvironment)
      lines.push(
        `complete -c stackctl -n '${seen(words)}' -a '(stackctl completion --environments 2>/dev/null)'`,
      );
  }
  return `${lines.join('\n')}\n`;
}

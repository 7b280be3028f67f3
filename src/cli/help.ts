/** Formats an "Examples:" block for --help. */
export function examples(lines: readonly (readonly [command: string, what: string])[]): string {
  const width = Math.max(...lines.map(([command]) => command.length));
  const body = lines.map(([command, what]) => `  $ ${command.padEnd(width)}  # ${what}`).join('\n');
  return `\nExamples:\n${body}\n`;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0    success (warnings allowed)
  1    runtime failure (compose failed, health timeout, unexpected error)
  2    usage or configuration error (bad flags, invalid or missing schema)
  3    preflight failed (the host cannot run the environment)
  4    refused (destructive action without confirmation, lock held by another run)
  130  interrupted (Ctrl-C)
`;

/** Commander option parser for a repeatable option: --stack a --stack b gives ['a', 'b']. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The command a compose healthcheck `test` runs, for running it directly with docker exec:
 * ["CMD", args...] runs args; ["CMD-SHELL", cmd] and a plain string run through /bin/sh -c;
 * ["NONE"] (or nothing) is no check.
 */
export function healthcheckCommand(test: string | readonly string[] | undefined): string[] | undefined {
  if (test === undefined) return undefined;
  if (typeof test === 'string') return test.trim() === '' ? undefined : ['/bin/sh', '-c', test];
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest.length > 0 ? [...rest] : undefined;
  if (kind === 'CMD-SHELL') return rest.length > 0 ? ['/bin/sh', '-c', rest.join(' ')] : undefined;
  return undefined;
}

/**
 * Compose writes a literal $ as $$; the command docker exec runs must have it unescaped, the way
 * compose passes it to the engine.
 */
export function unescapeCompose(command: readonly string[]): string[] {
  return command.map((part) => part.replace(/\$\$/g, '$'));
}

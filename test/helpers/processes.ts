import { execa } from 'execa';

/**
 * Every process command line seen (ps -eo args, sampled back to back) while a command runs: tests
 * check that no secret value ever shows there.
 */
export async function commandLinesWhile<T>(
  running: Promise<T>,
): Promise<{ result: T; commandLines: Set<string> }> {
  const commandLines = new Set<string>();
  let done = false;
  void running.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    for (const line of (await execa('ps', ['-eo', 'args'], { reject: false })).stdout.split('\n'))
      commandLines.add(line);
  }
  return { result: await running, commandLines };
}

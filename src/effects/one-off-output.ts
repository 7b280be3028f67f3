// The output of a one-off container (`docker run --rm`), read only once it is known to be whole.
// The engine can drop everything a short-lived container printed, on either stream, and still
// report its exit status: seen on Docker 26.1 under load (about 1 run in 200 on a busy 2-core
// machine; `docker logs` of the same container is as empty). A script whose output is used ends it
// with a marker line printed only on success; a run that exited 0 without the marker lost its
// output and is run again (what these scripts do is idempotent: they read, or converge).
import { StackctlError } from '../errors.js';

export const OUTPUT_END = 'stackctl:output-end';

/**
 * The script, run in a subshell (its `exit` and `set -e` stay its own), then on success the marker
 * on stdout and on stderr, for a caller that reads either.
 */
export function markedScript(script: string): string {
  return `(\n${script}\n)\nstatus=$?\n[ "$status" -ne 0 ] || { echo ${OUTPUT_END}; echo ${OUTPUT_END} >&2; }\nexit "$status"`;
}

/**
 * What the script printed before the marker, less one final newline (as execa gives output);
 * undefined when the output does not end with the marker (it was lost). Output without a final
 * newline of its own has the marker on its last line.
 */
export function markedOutput(stdout: string): string | undefined {
  const text = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
  if (!text.endsWith(OUTPUT_END)) return undefined;
  const before = text.slice(0, -OUTPUT_END.length);
  return before.endsWith('\n') ? before.slice(0, -1) : before;
}

export interface OneOffResult {
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/**
 * Runs `attempt` (a `docker run` of a `markedScript`) until a successful run's output is whole,
 * at most `attempts` times. A failed run is returned as it is: its exit status is what counts.
 */
export async function wholeOutput<T extends OneOffResult>(
  attempt: () => Promise<T>,
  what: string,
  attempts = 4,
): Promise<{ readonly result: T; readonly output: string }> {
  for (let tried = 1; ; tried++) {
    const result = await attempt();
    if (result.exitCode !== 0) return { result, output: result.stdout ?? '' };
    const output = markedOutput(result.stdout ?? '');
    if (output !== undefined) return { result, output };
    if (tried >= attempts)
      throw new StackctlError(
        'E_RUNTIME',
        `${what}: the Docker engine lost the output of its one-off container ${String(attempts)} times in a row`,
        { hint: 'the engine is dropping container output (docker run); look at dockerd and containerd logs' },
      );
  }
}

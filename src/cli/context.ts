import type { Colors } from '../ui/colors.js';
import type { OutputStream } from '../ui/terminal.js';

export type { OutputStream } from '../ui/terminal.js';

/** Everything a command needs from the outside world, handed in so commands stay testable. */
export interface CommandContext {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly colors: Colors;
  readonly verbose: boolean;
  /** True when stdin and stderr are terminals: prompts and spinners are allowed. */
  readonly interactive: boolean;
  /** Aborted on Ctrl-C; long operations stop and clean up. */
  readonly signal: AbortSignal;
}

export function printLine(stream: OutputStream, line = ''): void {
  stream.write(`${line}\n`);
}

export function printJson(stream: OutputStream, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

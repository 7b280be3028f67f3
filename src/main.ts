import { EXIT } from './errors.js';
import type { ProcessIO } from './cli/program.js';

/** The process entry: wires real stdio, Ctrl-C and the exit code. The only place that exits. */
export async function main(): Promise<void> {
  const { io, args } = wireProcess();
  // --version and status skip loading the command-line parser and every other command when they can.
  const quick =
    args.length === 1 && (args[0] === '--version' || args[0] === '-V')
      ? await (await import('./cli/version-line.js')).printVersion(io.stdout)
      : args[0] === 'status'
        ? await (await import('./cli/fast-status.js')).quickStatus(args, io)
        : undefined;
  exitWith(quick ?? (await (await import('./cli/program.js')).run(args, io)));
}

/**
 * The process around a run: its arguments, real stdio, Ctrl-C, SIGTERM and SIGHUP turned into an
 * abort, and a reader that went away turned into a quiet exit. `release` takes the handlers off again
 * (for the status bundle, which hands a run it cannot answer to the full program: bin-status.ts).
 */
export function wireProcess(): { io: ProcessIO; args: string[]; release: () => void } {
  const controller = new AbortController();
  let interrupts = 0;
  // First Ctrl-C (or SIGTERM): let the running command cancel and clean up. Second: leave at once.
  const interrupt = (reason: string): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort(new Error(reason));
  };
  // A reader that went away (`stackctl backup list | head`) is no error: stop writing, quietly.
  const onStreamError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    // The terminal went away (SIGHUP follows): nobody reads; the command still cleans up.
    if (error.code === 'EIO') return;
    throw error;
  };
  const signals = {
    SIGINT: () => interrupt('interrupted'),
    SIGTERM: () => interrupt('terminated'),
    // A closed terminal: the same as Ctrl-C, so what is running cleans up rather than dying half-way.
    SIGHUP: () => interrupt('hung up'),
  };
  for (const stream of [process.stdout, process.stderr]) stream.on('error', onStreamError);
  for (const [signal, handler] of Object.entries(signals)) process.on(signal, handler);

  const io: ProcessIO = {
    cwd: workingFolder(),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    // Read when a command asks: opening stdin costs a run that only prints a tenth of its start.
    get stdinIsTTY() {
      return process.stdin.isTTY === true;
    },
    signal: controller.signal,
  };
  const release = (): void => {
    for (const stream of [process.stdout, process.stderr]) stream.off('error', onStreamError);
    for (const [signal, handler] of Object.entries(signals)) process.off(signal, handler);
  };
  return { io, args: process.argv.slice(2), release };
}

export function exitWith(code: number): void {
  process.exitCode = code;
  // Let stdout drain (pipes) before leaving; handles still open (dockerode sockets) must not keep us.
  process.stdout.write('', () => process.exit(code));
}

/** The working folder; a folder removed under the shell is a usage error, said in one line. */
function workingFolder(): string {
  try {
    return process.cwd();
  } catch {
    process.stderr.write(
      'error: the working folder no longer exists\n  hint: cd into an existing folder and run stackctl again\n',
    );
    process.exit(EXIT.usage);
  }
}

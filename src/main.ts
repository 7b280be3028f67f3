import { EXIT } from './errors.js';
import type { ProcessIO } from './cli/program.js';

/** The process entry: wires real stdio, Ctrl-C and the exit code. The only place that exits. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  // First Ctrl-C (or SIGTERM): let the running command cancel and clean up. Second: leave at once.
  const interrupt = (reason: string): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort(new Error(reason));
  };
  // A reader that went away (`stackctl backup list | head`) is no error: stop writing, quietly.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      // The terminal went away (SIGHUP follows): nobody reads; the command still cleans up.
      if (error.code === 'EIO') return;
      throw error;
    });
  process.on('SIGINT', () => interrupt('interrupted'));
  process.on('SIGTERM', () => interrupt('terminated'));
  // A closed terminal: the same as Ctrl-C, so what is running cleans up rather than dying half-way.
  process.on('SIGHUP', () => interrupt('hung up'));

  const args = process.argv.slice(2);
  const io: ProcessIO = {
    cwd: process.cwd(),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    // Read when a command asks: opening stdin costs a run that only prints a tenth of its start.
    get stdinIsTTY() {
      return process.stdin.isTTY === true;
    },
    signal: controller.signal,
  };
  // --version and status skip loading the command-line parser and every other command when they can.
  const quick =
    args.length === 1 && (args[0] === '--version' || args[0] === '-V')
      ? await (await import('./cli/version-line.js')).printVersion(io.stdout)
      : args[0] === 'status'
        ? await (await import('./cli/fast-status.js')).quickStatus(args, io)
        : undefined;
  const code = quick ?? (await (await import('./cli/program.js')).run(args, io));
  process.exitCode = code;
  // Let stdout drain (pipes) before leaving; handles still open (dockerode sockets) must not keep us.
  process.stdout.write('', () => process.exit(code));
}

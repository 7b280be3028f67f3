import { Command, CommanderError, Option } from 'commander';
import { EXIT, ReportedFailure, dockerConnectionError, isStackctlError } from '../errors.js';
import { colorEnabled, createColors } from '../ui/colors.js';
import { VERSION_LINE } from './version-line.js';
import { registerBackup } from './commands/backup.js';
import { registerBench } from './commands/bench.js';
import { registerExport } from './commands/export.js';
import { registerGenerate } from './commands/generate.js';
import { registerImport } from './commands/import.js';
import { registerGpu } from './commands/gpu.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerModels } from './commands/models.js';
import { registerReleases } from './commands/releases.js';
import { registerPreflight } from './commands/preflight.js';
import { registerSecrets } from './commands/secrets.js';
import { registerValidate } from './commands/validate.js';
import { registerClean, registerNetwork, registerWipe } from './commands/wipe.js';
import { printLine, type CommandContext, type OutputStream } from './context.js';
import { EXIT_CODES_HELP, examples } from './help.js';

/** The process around a CLI run; tests pass their own. */
export interface ProcessIO {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdinIsTTY: boolean;
  readonly signal: AbortSignal;
}

interface GlobalFlags {
  verbose?: boolean;
  color?: boolean;
}

/** Runs stackctl with these arguments (without node and script) and returns the exit code. */
export async function run(args: readonly string[], io: ProcessIO): Promise<number> {
  const program = buildProgram(io, args);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return io.signal.aborted ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    const flags = program.opts<GlobalFlags>();
    return reportError(error, io, flags);
  }
}

type Register = (program: Command, getContext: () => CommandContext) => void;

/**
 * Every group of commands, in the order `stackctl --help` lists them, with the top-level commands
 * each registers. A run naming one of them registers its group alone: building the other fifty
 * commands is most of what a short command would spend in stackctl's own code.
 */
export const COMMAND_GROUPS: readonly (readonly [Register, readonly string[]])[] = [
  [registerValidate, ['validate']],
  [registerLifecycle, ['start', 'stop', 'restart', 'status', 'top', 'logs']],
  [registerWipe, ['wipe', 'reset']],
  [registerNetwork, ['network']],
  [registerClean, ['clean']],
  [registerGenerate, ['generate']],
  [registerExport, ['export']],
  [registerSecrets, ['secrets']],
  [registerPreflight, ['preflight']],
  [registerGpu, ['gpu']],
  [registerModels, ['models']],
  [registerReleases, ['pull', 'build', 'upgrade', 'rollback', 'releases', 'verify', 'test-report']],
  [registerBench, ['bench']],
  [registerBackup, ['backup', 'restore', 'retention', 'schedule']],
  [registerImport, ['import']],
];

/** The group of the command these arguments name (global options take no value), if any. */
export function namedGroup(args: readonly string[]): (typeof COMMAND_GROUPS)[number] | undefined {
  const named = args.find((arg) => !arg.startsWith('-'));
  return named === undefined ? undefined : COMMAND_GROUPS.find(([, names]) => names.includes(named));
}

export function buildProgram(io: ProcessIO, args: readonly string[] = []): Command {
  const program = new Command('stackctl');
  let context: CommandContext | undefined;
  const getContext = (): CommandContext => {
    if (context) return context;
    const flags = program.opts<GlobalFlags>();
    const colors = createColors(
      colorEnabled({ noColorFlag: flags.color === false, env: io.env, isTTY: io.stdout.isTTY === true }),
    );
    context = {
      cwd: io.cwd,
      env: io.env,
      stdout: io.stdout,
      stderr: io.stderr,
      colors,
      verbose: flags.verbose === true,
      // stderr first: asking whether stdin is a terminal opens it.
      interactive: io.stderr.isTTY === true && io.stdinIsTTY,
      signal: io.signal,
    };
    return context;
  };

  program
    .description('Validate, generate, preflight, start and wipe the LLM Multimodal Stack from one schema')
    .version(VERSION_LINE, '-V, --version')
    .addOption(new Option('-v, --verbose', 'show details and stack traces on errors'))
    .addOption(new Option('--no-color', 'plain output (also NO_COLOR=1)'))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .addHelpText(
      'after',
      examples([
        ['stackctl validate', 'check schemas/compose-schema.yaml'],
        ['stackctl validate --env production --json', 'one environment, as JSON'],
        ['stackctl <command> --help', 'options and examples of a command'],
      ]) + EXIT_CODES_HELP,
    );

  // The whole table for the top-level help, `help`, completion scripts and a mistyped command's
  // did-you-mean; one group for a run that names its command.
  const only = namedGroup(args);
  for (const [register] of only ? [only] : COMMAND_GROUPS) register(program, getContext);
  if (!only) registerCompletion(program, getContext);

  applyToAll(program, (command) => command.exitOverride().showSuggestionAfterError(true));
  return program;
}

function registerCompletion(program: Command, getContext: () => CommandContext): void {
  program
    .command('completion')
    .description('print a completion script for bash, zsh or fish')
    .argument('[shell]', 'bash, zsh or fish')
    .option('--environments', "print the schema's environment names (what the scripts complete)")
    .option('--stacks', 'print the stacks of the environment given as [shell] (or every stack)')
    .option('--services', 'print the services of the environment given as [shell] (or every service)')
    .option('-s, --schema <path>', 'stack file')
    .addHelpText(
      'after',
      examples([
        ['source <(stackctl completion bash)', 'in ~/.bashrc'],
        ['stackctl completion zsh > "${fpath[1]}/_stackctl"', 'zsh'],
        ['stackctl completion fish > ~/.config/fish/completions/stackctl.fish', 'fish'],
      ]),
    )
    .action(
      async (
        shell: string | undefined,
        flags: { environments?: boolean; stacks?: boolean; services?: boolean; schema?: string },
      ) => {
        const { completionAction } = await import('./actions/completion.js');
        await completionAction(program, shell, flags, getContext());
      },
    );
}

function applyToAll(command: Command, apply: (command: Command) => void): void {
  for (const sub of command.commands) {
    apply(sub);
    applyToAll(sub, apply);
  }
}

function reportError(error: unknown, io: ProcessIO, flags: GlobalFlags): number {
  if (error instanceof ReportedFailure) return error.exitCode;
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    if (error.code === 'commander.help') return EXIT.ok;
    // Commander already printed its message to stderr.
    return EXIT.usage;
  }
  const colors = createColors(
    colorEnabled({ noColorFlag: flags.color === false, env: io.env, isTTY: io.stderr.isTTY === true }),
  );
  const known = isStackctlError(error) ? error : dockerConnectionError(error);
  if (known) {
    error = known;
  }
  if (isStackctlError(error)) {
    // An interruption is the user's choice, not an error: say what was left, without alarm.
    if (error.code === 'E_INTERRUPTED') printLine(io.stderr, colors.yellow(error.message));
    else printLine(io.stderr, `${colors.red('error:')} ${error.message}`);
    if (error.hint !== undefined && error.hint !== '')
      printLine(io.stderr, `  ${colors.dim('hint:')} ${error.hint}`);
    if (flags.verbose === true && error.cause !== undefined) printLine(io.stderr, describeCause(error.cause));
    return error.exitCode;
  }
  if (io.signal.aborted) return EXIT.interrupted;
  const message = error instanceof Error ? error.message : String(error);
  printLine(io.stderr, `${colors.red('error:')} unexpected failure: ${message}`);
  if (flags.verbose === true)
    printLine(io.stderr, error instanceof Error ? (error.stack ?? message) : message);
  else
    printLine(
      io.stderr,
      `  ${colors.dim('hint:')} run again with --verbose for details, and report it if it persists`,
    );
  return EXIT.runtime;
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.stack ?? cause.message;
  return String(cause);
}

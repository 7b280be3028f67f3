// `stackctl status` without the command-line parser and the other commands: the one command people
// run in a loop (watch stackctl status). Only its plain forms, and only when the schema is the one
// recorded at the last generate or start; anything else goes through the full program.
import { unchangedSchemaNames } from '../lifecycle/status.js';
import { colorEnabled, createColors } from '../ui/colors.js';
import { statusOf } from './actions/status.js';
import type { ProcessIO } from './program.js';
import type { CommandContext } from './context.js';

interface StatusArgs {
  env?: string;
  stack: string[];
  json: boolean;
  resources: boolean;
  schema?: string;
  color: boolean;
}

/** The exit code when the quick path answered; undefined to run the full program instead. */
export async function quickStatus(args: readonly string[], io: ProcessIO): Promise<number | undefined> {
  const parsed = parseStatusArgs(args);
  if (!parsed) return undefined;
  try {
    const names = await unchangedSchemaNames(parsed.schema, io.cwd, io.env);
    if (!names || (parsed.env !== undefined && !names.environments.includes(parsed.env))) return undefined;
    const colors = createColors(
      colorEnabled({ noColorFlag: !parsed.color, env: io.env, isTTY: io.stdout.isTTY === true }),
    );
    const ctx: CommandContext = {
      cwd: io.cwd,
      env: io.env,
      stdout: io.stdout,
      stderr: io.stderr,
      signal: io.signal,
      colors,
      verbose: false,
      // stderr first: asking whether stdin is a terminal opens it.
      interactive: io.stderr.isTTY === true && io.stdinIsTTY,
    };
    await statusOf(
      names,
      parsed.env,
      { json: parsed.json, stack: parsed.stack, resources: parsed.resources },
      ctx,
    );
    return 0;
  } catch {
    // Nothing was printed: the full program runs it again and reports the error as every command does.
    return undefined;
  }
}

/** `status [ENV] [--json] [-r] [--schema PATH] [--no-color]`, or undefined for anything else. */
function parseStatusArgs(args: readonly string[]): StatusArgs | undefined {
  if (args[0] !== 'status') return undefined;
  const parsed: StatusArgs = { json: false, resources: false, color: true, stack: [] };
  for (let index = 1; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    if (arg === '--json') parsed.json = true;
    else if (arg === '-r' || arg === '--resources') parsed.resources = true;
    else if (arg === '--no-color') parsed.color = false;
    else if (arg === '--stack' && index + 1 < args.length) parsed.stack.push(args[++index] ?? '');
    else if (arg === '--schema' && index + 1 < args.length) parsed.schema = args[++index];
    else if (arg.startsWith('--schema=')) parsed.schema = arg.slice('--schema='.length);
    else if (!arg.startsWith('-') && parsed.env === undefined) parsed.env = arg;
    else return undefined;
  }
  return parsed;
}

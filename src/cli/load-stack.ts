import { StackctlError } from '../errors.js';
import { projectRoot, readSchema } from '../effects/schema-file.js';
import type { EnvironmentDef, StackFile } from '../schema/types.js';
import { validateStackText } from '../schema/validate.js';
import { didYouMean } from '../schema/suggest.js';
import { formatIssue } from './actions/validate.js';
import { printLine, type CommandContext } from './context.js';

export interface LoadedStack {
  readonly file: StackFile;
  /** Absolute path of the stack file. */
  readonly schemaPath: string;
  readonly schemaText: string;
  /** The project folder: the parent of schemas/ (generated files and state live here). */
  readonly root: string;
}

/** Reads and validates the stack file; an invalid file stops the command with its issues (exit 2). */
export async function loadStack(schemaFlag: string | undefined, ctx: CommandContext): Promise<LoadedStack> {
  const source = await readSchema(schemaFlag, ctx.cwd);
  const result = await validateStackText(source.text, { fileName: source.displayPath });
  if (!result.valid || !result.file) {
    const errors = result.issues.filter((issue) => issue.severity === 'error');
    for (const issue of errors.slice(0, 10)) printLine(ctx.stderr, formatIssue(issue, ctx.colors));
    throw new StackctlError('E_SCHEMA', `${source.displayPath} is not valid (${errors.length} errors)`, {
      hint: `run: stackctl validate${schemaFlag === undefined ? '' : ` --schema ${schemaFlag}`}`,
    });
  }
  return {
    file: result.file,
    schemaPath: source.path,
    schemaText: source.text,
    root: projectRoot(source.path),
  };
}

export function requireEnvironment(file: StackFile, name: string): EnvironmentDef {
  const env = Object.hasOwn(file.environments, name) ? file.environments[name] : undefined;
  if (!env) {
    throw new StackctlError('E_USAGE', `unknown environment "${name}"`, {
      hint: didYouMean(name, Object.keys(file.environments)),
    });
  }
  return env;
}

import { resolve } from 'node:path';
import { StackctlError } from '../../errors.js';
import { importProject } from '../../lifecycle/import.js';
import { printJson, printLine, type CommandContext } from '../context.js';

export interface ImportFlags {
  from: string;
  out?: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

export async function importAction(flags: ImportFlags, ctx: CommandContext): Promise<void> {
  const out = resolve(ctx.cwd, flags.out ?? '.');
  const dryRun = flags.dryRun === true;
  const outcome = await importProject({
    from: resolve(ctx.cwd, flags.from),
    out,
    dryRun,
    force: flags.force === true,
    env: ctx.env,
    now: new Date(),
  });
  const volumes = Object.values(outcome.keptVolumes);
  if (flags.json === true) {
    printJson(ctx.stdout, {
      written: dryRun ? [] : outcome.files,
      ...(dryRun ? { wouldWrite: outcome.files } : {}),
      ...(outcome.replacedKeptIn !== undefined
        ? { replaced: { files: outcome.replaced, keptIn: outcome.replacedKeptIn } }
        : {}),
      kept: { secrets: outcome.keptSecrets, volumes },
      report: outcome.report,
    });
  } else {
    for (const entry of outcome.report) {
      const mark =
        entry.severity === 'error'
          ? ctx.colors.red('✖')
          : entry.severity === 'warning'
            ? ctx.colors.yellow('⚠')
            : ctx.colors.dim('·');
      printLine(ctx.stderr, `${mark} ${entry.file}:${entry.line} ${entry.message}\n    → ${entry.action}`);
    }
    if (outcome.replacedKeptIn !== undefined)
      printLine(
        ctx.stderr,
        `· replaced ${outcome.replaced.length} existing files; their previous content is in ${outcome.replacedKeptIn}`,
      );
    if (outcome.valid)
      printLine(
        ctx.stdout,
        ctx.colors.green(
          `✔ ${dryRun ? 'would write' : 'wrote'} ${outcome.files.length} files to ${out}: ${outcome.keptSecrets} secret values kept as they were, ${volumes.length} volumes kept`,
        ),
      );
  }
  if (!outcome.valid)
    throw new StackctlError('E_SCHEMA', 'the imported schema is not valid, so nothing was written', {
      hint: 'the report above says what; report it, with the original files, if it is stackctl that got it wrong',
    });
}

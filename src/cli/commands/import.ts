import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { examples } from '../help.js';
import type { ImportFlags } from '../actions/import.js';

export function registerImport(program: Command, context: () => CommandContext): void {
  program
    .command('import')
    .description(
      'bring a project of the original scripts across: schema, environments, every secret value as it is, and the volumes holding its data',
    )
    .requiredOption(
      '--from <dir>',
      'the original project (its schemas/compose-schema.yaml, configs/, secrets/)',
    )
    .option('--out <dir>', 'where the stackctl project goes (default: the current folder)')
    .option('--dry-run', 'report what would be written, and write nothing')
    .option('--force', 'replace an existing stackctl schema in --out')
    .option('--json', 'print {"written", "kept": {"secrets", "volumes"}, "report": [...]}')
    .addHelpText(
      'after',
      examples([
        ['stackctl import --from ../llm-multimodal-stack --dry-run', 'see the report first'],
        ['stackctl import --from ../llm-multimodal-stack --out .', 'write the stackctl project here'],
      ]) +
        '\nSecret values are copied as they are and never printed; existing volumes are mounted, never removed.\n',
    )
    .action(async (flags: ImportFlags) => {
      const { importAction } = await import('../actions/import.js');
      await importAction(flags, context());
    });
}

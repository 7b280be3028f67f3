import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { examples } from '../help.js';
import type { ValidateFlags } from '../actions/validate.js';

export function registerValidate(program: Command, context: () => CommandContext): void {
  program
    .command('validate')
    .description('check the stack schema: YAML, shape, references, ports, subnets, variables, credentials')
    .option('-s, --schema <path>', 'stack file (default: schemas/compose-schema.yaml, searched upward)')
    .option('-e, --env <name>', 'check only this environment (plus everything shared)')
    .option(
      '--secrets',
      'also check the stored secrets (strength, placeholders, reuse); values are never shown',
    )
    .option('--json', 'print {"valid", "issues": [...]} as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl validate', 'check the schema of the current project'],
        ['stackctl validate --env production', 'check what the production environment uses'],
        ['stackctl validate --schema other.yaml --json', 'machine-readable report'],
        ['stackctl validate --secrets --env production', 'and the secrets production runs with'],
      ]),
    )
    .action(async (flags: ValidateFlags) => {
      const { validateAction } = await import('../actions/validate.js');
      await validateAction(flags, context());
    });
}

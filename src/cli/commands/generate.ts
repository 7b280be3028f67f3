import { Option, type Command } from 'commander';
import { GPU_MODES } from '../../plan/gpu-layout.js';
import type { CommandContext } from '../context.js';
import { examples } from '../help.js';
import type { GenerateFlags } from '../actions/generate.js';

export function registerGenerate(program: Command, context: () => CommandContext): void {
  program
    .command('generate')
    .description('write .env files, secrets, Kubernetes secrets and compose files from the schema')
    .argument('[env...]', 'environments to generate (or --all)')
    .option('-a, --all', 'every environment of the schema')
    .option('-s, --schema <path>', 'stack file')
    .option(
      '--check',
      'write nothing; exit 1 when a generated file is missing or differs (CI drift check; ' +
        'files carrying secrets are compared only where the environment has secrets)',
    )
    .addOption(
      new Option(
        '--gpu <mode>',
        'GPU layout to generate (default: the recorded one, else the profile)',
      ).choices(GPU_MODES),
    )
    .option('--json', 'print {"environments": [...], "files": [{"path", "status"}]}')
    .addHelpText(
      'after',
      examples([
        ['stackctl generate development', 'files for one environment'],
        ['stackctl generate --all', 'files for every environment'],
        ['stackctl generate --all --check', 'CI: fail when generated files drifted from the schema'],
        ['stackctl generate development --gpu cpu', 'files for a host without GPUs'],
      ]) +
        '\nExisting secrets are always kept; use `stackctl secrets rotate` to replace them.\n' +
        'compose/local.override.yml is yours: read last, never written.\n',
    )
    .action(async (envs: string[], flags: GenerateFlags) => {
      const { generateAction } = await import('../actions/generate.js');
      await generateAction(envs, flags, context());
    });
}

import type { Command } from 'commander';
import { Option } from 'commander';
import { GPU_MODES } from '../../plan/gpu-layout.js';
import type { CommandContext } from '../context.js';
import { collect, examples } from '../help.js';
import type { PreflightFlags } from '../actions/preflight-report.js';

export function registerPreflight(program: Command, context: () => CommandContext): void {
  program
    .command('preflight')
    .description('check that this host can run an environment: Docker, GPUs, memory, disk, ports, subnets')
    .argument('<env>', 'environment name')
    .addOption(
      new Option(
        '--gpu <mode>',
        "GPU layout to check (default: the recorded choice, else the environment's profile)",
      ).choices(GPU_MODES),
    )
    .option(
      '--skip-check <id>',
      'report this check (paths.ai-agents) or group (paths) as skipped instead of failing (repeatable)',
      collect,
      [],
    )
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"environment", "ok", "checks": [{"id", "status", "message", "fix"}]}')
    .option(
      '--ci',
      'checks for a CI runner without GPU or engine: schema and security, as GitHub Actions annotations',
    )
    .addHelpText(
      'after',
      examples([
        ['stackctl preflight development', 'everything development needs'],
        ['stackctl preflight production --gpu single', 'check the single-GPU layout'],
        ['stackctl preflight staging --ci', 'CI step: schema and security checks'],
        ['stackctl preflight development --skip-check paths.ai-agents', 'accept one known failure'],
      ]) + '\nExit 3 when any check fails; warnings do not fail.\n',
    )
    .action(async (env: string, flags: PreflightFlags) => {
      const { preflightAction } = await import('../actions/preflight.js');
      await preflightAction(env, flags, context());
    });
}

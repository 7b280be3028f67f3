import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect, examples } from '../help.js';
import type { WipeFlags } from '../actions/wipe.js';
import type { ResetFlags } from '../actions/reset.js';
import type { NetworkFlags } from '../actions/network.js';
import type { CleanFlags } from '../actions/clean.js';

export function registerWipe(program: Command, context: () => CommandContext): void {
  program
    .command('wipe')
    .description(
      "remove an environment's containers, volumes and networks: only what carries this project's labels",
    )
    .argument('[env]', 'environment (or --all)')
    .option('--all', 'every environment of this project (asked for by name, never by default)')
    .option('--stack <name>', 'only this stack (repeatable)', collect, [])
    .option(
      '--data <kind>',
      'only volumes of this data kind: db, cache, models, logs, test-results, app (repeatable)',
      collect,
      [],
    )
    .option('--secrets', 'also remove generated secrets and env files (after a 0600 backup)')
    .option('--dry-run', 'list what would be removed and remove nothing')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print what was (or would be) removed as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl wipe development --dry-run', 'see exactly what would go'],
        ['stackctl wipe development --data cache --yes', 'drop caches, keep databases'],
        ['stackctl wipe --all --yes', 'every environment of this project'],
      ]) +
        '\nNever `docker system prune`: resources of other projects, or without our labels, are never touched.\n',
    )
    .action(async (env: string | undefined, flags: WipeFlags) => {
      const { wipeAction } = await import('../actions/wipe.js');
      await wipeAction(env, flags, context());
    });

  program
    .command('reset')
    .description(
      'wipe an environment (secrets included, backed up), regenerate its files, and optionally start it',
    )
    .argument('<env>', 'environment')
    .option('--start', 'start the environment afterwards')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples([['stackctl reset development --yes --start', 'a clean development, running']]),
    )
    .action(async (env: string, flags: ResetFlags) => {
      const { resetAction } = await import('../actions/reset.js');
      await resetAction(env, flags, context());
    });
}

export function registerNetwork(program: Command, context: () => CommandContext): void {
  const network = program
    .command('network')
    .description("check the project's subnets, and remove its networks that no container uses")
    .addHelpText(
      'after',
      examples([
        ['stackctl network check', 'every environment'],
        ['stackctl network cleanup --yes', 'remove orphans'],
      ]),
    );
  network
    .command('check')
    .description(
      'subnet overlaps with Docker networks and host routes, and stackctl networks left without containers',
    )
    .argument('[env]', 'environment (default: every environment)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"environment", "ok", "checks": [...]}')
    .addHelpText(
      'after',
      examples([
        ['stackctl network check staging', 'one environment'],
        ['stackctl network check --json', 'as JSON'],
      ]) + '\nExit 3 when a subnet clashes.\n',
    )
    .action(async (env: string | undefined, flags: NetworkFlags) => {
      const { networkCheckAction } = await import('../actions/network.js');
      await networkCheckAction(env, flags, context());
    });
  network
    .command('cleanup')
    .description('remove only stackctl networks of this project that no container uses')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"removed": [...]}')
    .addHelpText('after', examples([['stackctl network cleanup --yes', 'remove the orphans']]))
    .action(async (flags: NetworkFlags) => {
      const { networkCleanupAction } = await import('../actions/network.js');
      await networkCleanupAction(flags, context());
    });
}

export function registerClean(program: Command, context: () => CommandContext): void {
  program
    .command('clean')
    .description("remove this project's stopped containers and dangling images (never docker system prune)")
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print what was removed and the space reclaimed')
    .addHelpText(
      'after',
      examples([
        ['stackctl clean', 'see what is reclaimable, then confirm'],
        ['stackctl clean --yes --json', 'in scripts'],
      ]),
    )
    .action(async (flags: CleanFlags) => {
      const { cleanAction } = await import('../actions/clean.js');
      await cleanAction(flags, context());
    });
}

import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect, examples } from '../help.js';
import type { VerifyFlags } from '../actions/verify.js';

/** The commands that check and change what an environment runs: verify (more below as they land). */
export function registerReleases(program: Command, context: () => CommandContext): void {
  program
    .command('verify')
    .description('run the end-to-end checks the schema declares (verify:) against a running environment')
    .argument('<env>', 'environment')
    .option('--service <name>', 'only the checks of this service (repeatable)', collect, [])
    .option('--junit <file>', 'also write the results as JUnit XML')
    .option('--allure <dir>', 'also write the results as Allure results (one <uuid>-result.json per check)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl verify production', 'every check of every service, each replica'],
        ['stackctl verify staging --junit reports/verify.xml', 'for CI'],
        ['stackctl verify testing --allure allure-results', 'for the Allure report'],
      ]) + '\nExit 0 every check passed, 1 one failed or could not run, 2 bad input.\n',
    )
    .action(async (env: string, flags: VerifyFlags) => {
      const { verifyAction } = await import('../actions/verify.js');
      await verifyAction(env, flags, context());
    });
}

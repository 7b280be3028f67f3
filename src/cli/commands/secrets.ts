import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect, examples } from '../help.js';
import type { RotateFlags, StatusFlags } from '../actions/secrets.js';

export function registerSecrets(program: Command, context: () => CommandContext): void {
  const secrets = program
    .command('secrets')
    .description('show the age of generated secrets, rotate them, or print one value asked for by name')
    .addHelpText(
      'after',
      examples([
        ['stackctl secrets status', 'every environment: name, type, age, due date'],
        ['stackctl secrets rotate production --due --yes', 'replace the overdue secrets of production'],
      ]),
    );

  secrets
    .command('status')
    .description('list secrets by name, type, age and rotation due date; flag overdue ones')
    .argument('[env]', 'one environment (default: all)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"environments": [{"name", "secrets": [...]}]}')
    .addHelpText(
      'after',
      examples([
        ['stackctl secrets status', 'all environments'],
        ['stackctl secrets status staging --json', 'one environment, as JSON'],
      ]),
    )
    .action(async (env: string | undefined, flags: StatusFlags) => {
      const { secretsStatusAction } = await import('../actions/secrets.js');
      await secretsStatusAction(env, flags, context());
    });

  secrets
    .command('get')
    .description('print one secret value, asked for by name (the only command that prints a secret)')
    .argument('<env>', 'environment')
    .argument('<name>', 'secret variable, e.g. POSTGRES_PASSWORD')
    .option('-s, --schema <path>', 'stack file')
    .addHelpText(
      'after',
      examples([
        ['stackctl secrets get development POSTGRES_PASSWORD', 'the value alone, on stdout'],
        [
          'PGPASSWORD="$(stackctl secrets get development POSTGRES_PASSWORD)" psql -h localhost -U postgres',
          'into a client without it showing on a command line',
        ],
      ]),
    )
    .action(async (env: string, name: string, flags: { schema?: string }) => {
      const { secretsGetAction } = await import('../actions/secrets.js');
      await secretsGetAction(env, name, flags, context());
    });

  secrets
    .command('rotate')
    .description(
      'replace secrets with new values, back up the old ones (0600), and regenerate the files that carry them',
    )
    .argument('<env>', 'environment')
    .option('-n, --name <variable>', 'rotate this secret variable (repeatable)', collect, [])
    .option('-t, --type <secretType>', 'rotate every secret of this type (repeatable)', collect, [])
    .option('--due', 'rotate every secret past its rotation date')
    .option('--all', 'rotate every secret of the environment')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"environment", "rotated": [...], "backup", "files": [...]}')
    .addHelpText(
      'after',
      examples([
        ['stackctl secrets rotate staging --name POSTGRES_PASSWORD', 'one secret'],
        ['stackctl secrets rotate production --type jwt_secret --yes', 'every JWT secret'],
        ['stackctl secrets rotate production --due --yes', 'whatever is overdue'],
      ]) +
        '\nA credential a service keeps in its data (a database role) is changed inside the running service first;\n' +
        'then the running services that use a rotated value are recreated and waited for. The question lists them.\n',
    )
    .action(async (env: string, flags: RotateFlags) => {
      const { secretsRotateAction } = await import('../actions/secrets.js');
      await secretsRotateAction(env, flags, context());
    });

  secrets
    .command('set')
    .description('store a value someone else issued (an S3 backup key), read from stdin, never printed')
    .argument('<env>', 'environment')
    .argument('<name>', 'a provided secret the schema names, e.g. BACKUP_S3_ACCESS_KEY_ID')
    .option('--replace', 'replace an existing value (the old one is backed up 0600)')
    .option('-s, --schema <path>', 'stack file')
    .addHelpText(
      'after',
      examples([
        ['printf %s "$KEY_ID" | stackctl secrets set production BACKUP_S3_ACCESS_KEY_ID', 'from a variable'],
        ['stackctl secrets set production BACKUP_S3_SECRET_ACCESS_KEY < key.txt', 'from a file'],
      ]),
    )
    .action(async (env: string, name: string, flags: { schema?: string; replace?: boolean }) => {
      const { secretsSetAction } = await import('../actions/secrets.js');
      await secretsSetAction(env, name, flags, context());
    });
}

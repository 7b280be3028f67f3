import { StackctlError } from '../../errors.js';
import { escapeControlCharacters } from '../../text.js';
import {
  rotateEnvironmentSecrets,
  type RotationEffects,
  type RotationOutcome,
} from '../../lifecycle/rotate.js';
import { readEnvironmentSecrets, readSecretStores, storeSecretValue } from '../../lifecycle/secrets.js';
import { startAction } from './start.js';
import { didYouMean } from '../../schema/suggest.js';
import { displayPathOf } from '../../model/stack.js';
import type { StackFile } from '../../schema/types.js';
import type { SecretStore } from '../../generate/secrets.js';
import { confirm } from '../../ui/confirm.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { table } from '../../ui/table.js';

export interface StatusFlags {
  schema?: string;
  json?: boolean;
}

export interface RotateFlags {
  name: string[];
  type: string[];
  due?: boolean;
  all?: boolean;
  yes?: boolean;
  schema?: string;
  json?: boolean;
}

interface SecretRow {
  name: string;
  type: string;
  createdAt: string;
  rotationDueAt: string;
  ageDays: number;
  overdue: boolean;
}

export async function secretsStatusAction(
  env: string | undefined,
  flags: StatusFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  const names = env === undefined ? Object.keys(stack.file.environments) : [env];
  if (env !== undefined) requireEnvironment(stack.file, env);
  const now = Date.now();
  const report: { name: string; generated: boolean; secrets: SecretRow[] }[] = [];
  for (const { name, store } of await readSecretStores(stack, names))
    report.push({ name, generated: store !== undefined, secrets: store ? rows(store, now) : [] });
  if (flags.json === true) {
    printJson(ctx.stdout, { environments: report });
    return;
  }
  const { colors } = ctx;
  for (const entry of report) {
    printLine(ctx.stdout, colors.bold(entry.name));
    if (!entry.generated) {
      printLine(ctx.stdout, colors.dim(`  no secrets yet: stackctl generate ${entry.name}`));
      continue;
    }
    const lines = table(
      [
        ['NAME', 'TYPE', 'AGE', 'DUE', ''],
        ...entry.secrets.map((row) => [
          row.name,
          row.type,
          `${row.ageDays}d`,
          row.rotationDueAt.slice(0, 10),
          row.overdue ? colors.red('overdue') : '',
        ]),
      ],
      colors.dim,
    );
    for (const line of lines) printLine(ctx.stdout, `  ${line}`);
  }
  const overdue = report.reduce((sum, entry) => sum + entry.secrets.filter((row) => row.overdue).length, 0);
  if (overdue > 0) {
    printLine(
      ctx.stderr,
      colors.yellow(
        `⚠ ${overdue} secret${overdue === 1 ? ' is' : 's are'} overdue: stackctl secrets rotate ENV --due`,
      ),
    );
  }
}

function rows(store: SecretStore, now: number): SecretRow[] {
  return Object.entries(store.secrets).map(([name, entry]) => ({
    name,
    type: entry.type,
    createdAt: entry.createdAt,
    rotationDueAt: entry.rotationDueAt,
    ageDays: Math.max(0, Math.floor((now - Date.parse(entry.createdAt)) / 86_400_000)),
    overdue: Date.parse(entry.rotationDueAt) <= now,
  }));
}

export async function secretsRotateAction(
  env: string,
  flags: RotateFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const json = flags.json === true;
  const outcome = await rotateEnvironmentSecrets(stack, { envName: env, selection: flags }, ctx, {
    manualOnly: (name, steps) =>
      printLine(
        ctx.stderr,
        ctx.colors.yellow(
          `⚠ ${name} is not rotated: stackctl cannot apply it to a running service. By hand: ${steps}`,
        ),
      ),
    confirm: (chosen, effects) => confirm(ctx, rotationQuestion(env, chosen, effects), flags.yes === true),
    recreate: async (services) => {
      if (!json) printLine(ctx.stderr, `Recreating the services of ${env} that use the new values…`);
      await startAction(
        env,
        { stack: [], service: [...services], timeout: '10m', wait: true, json: false, schema: flags.schema },
        json ? { ...ctx, stdout: { write: () => true }, stderr: { write: () => true } } : ctx,
        // The services run already on this host: what is recreated needs no host check.
        { lockHeld: true, withoutPreflight: true },
      );
    },
  });
  if (outcome === undefined) {
    if (json)
      printJson(ctx.stdout, {
        environment: env,
        rotated: [],
        backup: null,
        files: [],
        applied: [],
        pending: [],
      });
    else printLine(ctx.stderr, ctx.colors.green(`✔ nothing to rotate in ${env}`));
    return;
  }
  printRotation(env, outcome, json, ctx);
}

/** The question before a rotation: what it changes inside running services and what it recreates. */
function rotationQuestion(env: string, chosen: readonly string[], effects: RotationEffects): string {
  const consequences = [
    effects.liveIn.length > 0 ? `changes it inside ${effects.liveIn.join(', ')} (running)` : '',
    effects.recreated.length > 0
      ? `recreates ${effects.recreated.join(', ')} (running, they use ${chosen.length === 1 ? 'it' : 'them'})`
      : 'recreates no running service',
  ].filter((part) => part !== '');
  return `Rotate ${chosen.length} secret${chosen.length === 1 ? '' : 's'} of ${env} (${chosen.join(', ')})? This ${consequences.join(' and ')}.`;
}

/** What a rotation did. */
function printRotation(env: string, outcome: RotationOutcome, json: boolean, ctx: CommandContext): void {
  const running = outcome.recreated.length > 0;
  if (json) {
    printJson(ctx.stdout, {
      environment: env,
      rotated: outcome.rotated,
      backup: displayPathOf(outcome.backup, ctx.cwd),
      files: outcome.files,
      applied: outcome.applied,
      pending: outcome.pending.map((entry) => entry.name),
      recreated: running,
    });
    return;
  }
  printLine(ctx.stdout, `rotated: ${outcome.rotated.join(', ')}`);
  for (const name of outcome.applied) printLine(ctx.stdout, `applied in the running service: ${name}`);
  for (const entry of outcome.pending)
    printLine(
      ctx.stdout,
      `${entry.service} is not running: ${entry.name} is applied to it at the next start`,
    );
  for (const result of outcome.files.filter((r) => r.status !== 'unchanged'))
    printLine(ctx.stdout, `${result.status.padEnd(9)} ${result.path}`);
  printLine(
    ctx.stdout,
    ctx.colors.dim(`previous values backed up (0600) in ${displayPathOf(outcome.backup, ctx.cwd)}`),
  );
  printLine(
    ctx.stderr,
    ctx.colors.green(
      running
        ? `✔ rotated; ${outcome.recreated.join(', ')} of ${env} run${outcome.recreated.length === 1 ? 's' : ''} with the new values`
        : `✔ rotated; ${env} is not running: it starts with the new values (stackctl start ${env})`,
    ),
  );
}

/**
 * One secret's value, asked for by name: the only command that ever prints a secret. To stdout,
 * alone, so it can be piped (stackctl secrets get production POSTGRES_PASSWORD | psql ...).
 */
export async function secretsGetAction(
  env: string,
  name: string,
  flags: { schema?: string },
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  // The secret variables, and the provided keys `secrets set` stores (S3 tier credentials).
  const declared = [
    ...Object.entries(stack.file.variables)
      .filter(([, def]) => def.type === 'secret')
      .map(([variable]) => variable),
    ...providedSecretNames(stack.file),
  ];
  if (!declared.includes(name)) {
    throw new StackctlError('E_USAGE', `"${name}" is not a secret variable of the schema`, {
      hint: didYouMean(name, declared, 'secret variables'),
    });
  }
  const entry = (await readEnvironmentSecrets(stack, env))?.secrets[name];
  if (!entry) {
    throw new StackctlError('E_USAGE', `${env} has no value for ${name} yet`, {
      hint: `run: stackctl generate ${env}`,
    });
  }
  ctx.stdout.write(`${entry.value}\n`);
}

/** The longest value `secrets set` takes: far above any key or password, far below a file. */
const MAX_SECRET_BYTES = 64 * 1024;

/** Names the schema says are provided by people, not generated: the keys of S3 backup tiers. */
export function providedSecretNames(file: StackFile): string[] {
  const s3 = Object.values(file.backup?.tiers ?? {}).flatMap((tier) =>
    tier.type === 's3' ? [tier.credentials.accessKeyId, tier.credentials.secretAccessKey] : [],
  );
  // The Hugging Face token models pull and models fit send to the hub for gated models.
  const servesModels = Object.entries(file.services).some(
    ([name, service]) => name === 'vllm' || /vllm/.test(service.image ?? ''),
  );
  return servesModels ? [...s3, HF_TOKEN] : s3;
}

export const HF_TOKEN = 'HF_TOKEN';

/**
 * Stores a value someone else issued (an S3 access key) in the environment's secret store, read
 * from stdin so it never shows on a command line or in a terminal's scrollback.
 */
export async function secretsSetAction(
  env: string,
  name: string,
  flags: { schema?: string; replace?: boolean },
  ctx: CommandContext,
  stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const provided = providedSecretNames(stack.file);
  const generated = stack.file.variables[name]?.type === 'secret' ? stack.file.variables[name] : undefined;
  // A generated secret is set by hand only to put back a value a service really uses (after a
  // restore or a hand edit went wrong): it must exist already, and --replace says so.
  if (!provided.includes(name) && !(generated !== undefined && flags.replace === true))
    throw new StackctlError(
      'E_USAGE',
      `"${name}" is not a value people provide: stackctl generates and rotates the others`,
      {
        hint:
          generated !== undefined
            ? `to put back the value a service uses, pass --replace (stackctl secrets rotate makes a new one)`
            : provided.length > 0
              ? `provided secrets: ${provided.join(', ')}`
              : 'the schema names none (backup.tiers.<s3 tier>.credentials)',
      },
    );
  if (stdin.isTTY === true)
    throw new StackctlError('E_USAGE', `the value of ${name} is read from stdin, not typed at a terminal`, {
      hint: `printf %s "$VALUE" | stackctl secrets set ${env} ${name}   (or < a file)`,
    });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    size += (chunk as Buffer).length;
    // Keys and passwords are short: a stream this long is the wrong input (a file, a device).
    if (size > MAX_SECRET_BYTES)
      throw new StackctlError(
        'E_USAGE',
        `the value of ${name} on stdin is longer than ${MAX_SECRET_BYTES} bytes`,
        {
          hint: 'pipe the value alone, e.g. printf %s "$VALUE"',
        },
      );
    chunks.push(Buffer.from(chunk as Buffer));
  }
  const bytes = Buffer.concat(chunks);
  let value: string;
  try {
    value = new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/\r?\n$/, '');
  } catch {
    throw new StackctlError('E_USAGE', `the value of ${name} on stdin is not UTF-8 text`, {
      hint: 'store the value as text (base64 it first if it is binary)',
    });
  }
  if (value === '' || escapeControlCharacters(value) !== value)
    throw new StackctlError('E_USAGE', `the value of ${name} on stdin is empty or has control characters`, {
      hint: 'pipe the value alone, e.g. printf %s "$VALUE"',
    });
  await storeSecretValue(stack, env, {
    name,
    value,
    type: provided.includes(name) ? 'provided' : (generated?.secretType ?? 'provided'),
    replace: flags.replace === true,
  });
  printLine(ctx.stderr, ctx.colors.green(`✔ ${env}: ${name} stored (0600, never printed)`));
}

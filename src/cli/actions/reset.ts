import { printLine, type CommandContext } from '../context.js';
import { generateEnvironments } from '../../lifecycle/generation.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { startAction, type StartFlags } from './start.js';
import { wipe } from './wipe.js';

export interface ResetFlags {
  start?: boolean;
  yes?: boolean;
  schema?: string;
  json?: boolean;
  /** Keep the secrets (first-run with regenerateSecrets: false). */
  keepSecrets?: boolean;
  /** Show what would be wiped and the start plan; change nothing. */
  dryRun?: boolean;
  /** How to start afterwards (--gpu, --timeout, --stack... of `start first-run`). */
  startFlags?: StartFlags;
}

/** Wipe, regenerate secrets and files, and optionally start: the seeds' first-run flow. */
export async function resetAction(envName: string, flags: ResetFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  await wipe(
    stack,
    [envName],
    {
      stack: [],
      data: [],
      secrets: flags.keepSecrets !== true,
      yes: flags.yes,
      json: flags.json,
      dryRun: flags.dryRun,
    },
    ctx,
  );
  const startFlags: StartFlags = {
    stack: [],
    service: [],
    timeout: '10m',
    wait: true,
    ...flags.startFlags,
    json: flags.json,
    schema: flags.schema,
    dryRun: flags.dryRun,
  };
  if (flags.dryRun === true) {
    if (flags.json !== true)
      printLine(
        ctx.stdout,
        `Then ${envName}'s ${flags.keepSecrets === true ? 'files would be regenerated' : 'secrets and files would be regenerated'}${flags.start === true ? ', and it would be started:' : '.'}`,
      );
    if (flags.start === true) await startAction(envName, startFlags, ctx);
    return;
  }
  const { prepared } = await generateEnvironments(
    stack,
    { environments: [envName], check: false, gpu: new Map() },
    ctx,
  );
  const created = prepared.createdSecrets.get(envName)?.length ?? 0;
  if (flags.json !== true)
    printLine(
      ctx.stderr,
      `✔ ${envName} reset: files regenerated, ${created} new secret${created === 1 ? '' : 's'}`,
    );
  if (flags.start === true) {
    await startAction(envName, startFlags, ctx);
  }
}

import type { CommandContext } from '../context.js';
import { loadStack } from '../load-stack.js';
import { resetAction } from './reset.js';
import { startAction, type StartFlags } from './start.js';

export const FIRST_RUN = 'first-run';

/**
 * `stackctl start ENV`, where ENV may be the seeds' first-run flow (wipe the environment the schema
 * names, regenerate its secrets, start it) unless the schema has an environment of that name.
 */
export async function startOrFirstRun(
  envName: string,
  flags: StartFlags,
  ctx: CommandContext,
): Promise<void> {
  // A schema validated at the last generate or start (by this build) is not checked again.
  const stack = await loadStack(flags.schema, ctx);
  if (envName === FIRST_RUN && stack.file.firstRun && !Object.hasOwn(stack.file.environments, FIRST_RUN)) {
    const { environment, regenerateSecrets } = stack.file.firstRun;
    await resetAction(
      environment,
      {
        start: true,
        yes: flags.yes,
        schema: flags.schema,
        json: flags.json,
        keepSecrets: regenerateSecrets === false,
        dryRun: flags.dryRun,
        startFlags: flags,
      },
      ctx,
    );
    return;
  }
  await startAction(envName, flags, ctx, { stack });
}

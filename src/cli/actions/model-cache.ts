import { listCachedModels, removeCachedModel, type ModelCacheListing } from '../../lifecycle/model-cache.js';
import { confirm } from '../../ui/confirm.js';
import { table } from '../../ui/table.js';
import { bytesText } from '../../ui/transfer.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export interface ModelsListFlags {
  env?: string;
  schema?: string;
  json?: boolean;
}

export interface ModelsRemoveFlags {
  env: string;
  yes?: boolean;
  schema?: string;
}

export async function modelsListAction(flags: ModelsListFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  if (flags.env !== undefined) requireEnvironment(stack.file, flags.env);
  const envs =
    flags.env !== undefined
      ? [flags.env]
      : Object.entries(stack.file.environments)
          .filter(([, env]) =>
            env.services.some((name) => {
              const service = stack.file.services[name];
              return name === 'vllm' || /vllm/.test(service?.image ?? '');
            }),
          )
          .map(([name]) => name);
  const listings: ModelCacheListing[] = [];
  for (const env of envs) {
    const listing = await listCachedModels(stack, env, ctx);
    if (listing) listings.push(listing);
  }
  if (flags.json === true) {
    printJson(ctx.stdout, listings);
    return;
  }
  const rows = listings.flatMap((listing) =>
    listing.models.map((model) => [
      listing.env,
      model.repo,
      Object.entries(model.refs)
        .map(([ref, sha]) => `${ref}=${sha.slice(0, 12)}`)
        .join(' ') || model.snapshots.map((sha) => sha.slice(0, 12)).join(' '),
      bytesText(model.bytes),
      model.partialFiles > 0
        ? `partial (${model.partialFiles} file${model.partialFiles === 1 ? '' : 's'} to resume)`
        : 'complete',
      model.inUse ? 'served' : '',
    ]),
  );
  if (rows.length > 0)
    for (const line of table(
      [['ENV', 'MODEL', 'REVISION', 'SIZE', 'STATE', 'USE'], ...rows],
      ctx.colors.bold,
    ))
      printLine(ctx.stdout, line);
  for (const listing of listings.filter((entry) => entry.models.length === 0))
    printLine(
      ctx.stdout,
      ctx.colors.dim(
        `${listing.env}: ${listing.exists ? `no model in ${listing.volume}` : `no cache volume yet (stackctl models pull --env ${listing.env})`}`,
      ),
    );
  if (listings.length === 0) printLine(ctx.stdout, ctx.colors.dim('no environment runs vLLM'));
}

export async function modelsRemoveAction(
  model: string,
  flags: ModelsRemoveFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, flags.env);
  const removal = await removeCachedModel(stack, { envName: flags.env, repo: model }, ctx, async (what) => {
    printLine(ctx.stderr, `Will remove ${what.repo} (${bytesText(what.bytes)}) from volume ${what.volume}.`);
    await confirm(ctx, `Remove ${what.repo} from ${what.env}'s model cache?`, flags.yes === true);
  });
  printLine(
    ctx.stdout,
    `${ctx.colors.green('✔')} removed ${removal.repo} (${bytesText(removal.bytes)}) from ${removal.volume}`,
  );
}

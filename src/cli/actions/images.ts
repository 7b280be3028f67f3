import { buildImages, pullImages, type ImageAction, type ImageChange } from '../../lifecycle/images.js';
import { startProgress } from '../../ui/progress.js';
import { table } from '../../ui/table.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export interface ImagesFlags {
  service: string[];
  /** commander's --no-cache sets cache: false. */
  cache?: boolean;
  schema?: string;
  json?: boolean;
}

export async function imagesAction(
  action: ImageAction,
  env: string,
  flags: ImagesFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const progress = startProgress(ctx, `${action === 'pull' ? 'Pulling' : 'Building'} images of ${env}`);
  const workflow = action === 'pull' ? pullImages : buildImages;
  const outcome = await workflow(
    stack,
    { envName: env, services: flags.service, noCache: flags.cache === false },
    ctx,
    {
      begin: (_, services) =>
        progress.update(
          services.length === 0
            ? `nothing to ${action}`
            : `${action === 'pull' ? 'Pulling' : 'Building'} ${services.join(', ')}`,
        ),
      line: (line) => {
        const text = line.trim();
        // Per layer and per step on a terminal; the finished ones as lines of their own.
        if (progress.animated) progress.update(text);
        if (/\b(Pulled|Built|Error|error|failed)\b/.test(text) || !progress.animated)
          progress.log(`  ${text}`);
      },
    },
  ).finally(() => progress.stop());
  if (flags.json === true) {
    printJson(ctx.stdout, outcome);
    return;
  }
  printChanges(outcome.changes, action, env, ctx);
}

export function printChanges(
  changes: readonly ImageChange[],
  action: ImageAction,
  env: string,
  ctx: CommandContext,
): void {
  if (changes.length === 0) {
    printLine(ctx.stdout, `${env} has no service to ${action}`);
    return;
  }
  const short = (id: string | undefined): string =>
    id === undefined ? '-' : id.replace(/^sha256:/, '').slice(0, 12);
  const digest = (change: ImageChange): string =>
    change.after?.repoDigests[0]?.replace(/^.*@sha256:/, 'sha256:').slice(0, 19) ?? 'local';
  const rows = [
    ['SERVICE', 'IMAGE', 'BEFORE', 'AFTER', 'DIGEST', 'RUNNING'],
    ...changes.map((change) => [
      change.service,
      change.reference,
      short(change.before?.id),
      short(change.after?.id),
      digest(change),
      change.running === undefined
        ? 'no container'
        : change.running === change.after?.id
          ? 'this image'
          : 'the old image',
    ]),
  ];
  for (const line of table(rows, (text) => ctx.colors.bold(text))) printLine(ctx.stdout, line);
  const changed = changes.filter((change) => change.changed).map((change) => change.service);
  const stale = changes.filter(
    (change) => change.running !== undefined && change.running !== change.after?.id,
  );
  printLine(ctx.stdout, changed.length === 0 ? `No image changed.` : `New images: ${changed.join(', ')}.`);
  if (stale.length > 0)
    printLine(
      ctx.stdout,
      `Running the old image: ${stale.map((change) => change.service).join(', ')}; roll them out with a health gate and automatic rollback: stackctl upgrade ${env}`,
    );
}

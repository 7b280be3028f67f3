import { switchModel } from '../../lifecycle/model-switch.js';
import { startProgress } from '../../ui/progress.js';
import { bytesText, transferLine } from '../../ui/transfer.js';
import { displayPathOf } from '../../model/stack.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { startAction } from './start.js';

export interface ModelsSwitchFlags {
  maxModelLen?: number;
  timeout: string;
  schema?: string;
  json?: boolean;
}

export async function modelsSwitchAction(
  env: string,
  model: string,
  flags: ModelsSwitchFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, env);
  const progress = startProgress(ctx, `Switching ${env} to ${model}`);
  let started = Date.now();
  let lastDraw = 0;
  const outcome = await switchModel(stack, { envName: env, model, maxModelLen: flags.maxModelLen }, ctx, {
    fitChecked: (result, why) => {
      if (result)
        progress.log(
          `${ctx.colors.green('✔')} ${model} fits: ${result.kvTokens} tokens of KV cache, ${result.maxConcurrency}x at max-model-len ${result.maxModelLen}`,
        );
      else progress.log(ctx.colors.yellow(`⚠ whether ${model} fits the GPUs was not checked: ${why ?? ''}`));
    },
    planned: (plan) => {
      started = Date.now();
      if (plan.bytesToFetch > 0)
        progress.log(`Pulling ${plan.repo}: ${bytesText(plan.bytesToFetch)} to fetch`);
    },
    progress: ({ file, doneBytes, totalBytes }) => {
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      progress.update(`${file} ${transferLine({ doneBytes, totalBytes, elapsedMs: now - started })}`);
    },
    fileDone: () => undefined,
    retrying: (file, reason) => progress.log(ctx.colors.yellow(`⚠ ${file}: ${reason}; resuming`)),
    schemaChanged: (path, variables) => {
      progress.stop();
      const set = Object.entries(variables)
        .map(([name, value]) => `${name}: ${String(value)}`)
        .join(', ');
      printLine(ctx.stderr, `Set ${set} in ${displayPathOf(path, ctx.cwd)} (environments.${env}.variables)`);
    },
    restart: (next, services) =>
      startAction(
        env,
        { stack: [], service: [...services], timeout: flags.timeout, wait: true },
        { ...ctx, stdout: ctx.stderr },
        { lockHeld: true, withoutPreflight: true, stack: next },
      ),
    rollingBack: (reason) =>
      printLine(
        ctx.stderr,
        ctx.colors.yellow(`⚠ ${model} did not come up (${reason}): putting the previous model back`),
      ),
  }).finally(() => progress.stop());
  if (flags.json === true) {
    printJson(ctx.stdout, outcome);
    return;
  }
  printLine(
    ctx.stdout,
    `${ctx.colors.green('✔')} ${env} serves ${outcome.to}${outcome.from ? ` (was ${outcome.from})` : ''}; restarted ${outcome.restarted.join(', ')}`,
  );
}

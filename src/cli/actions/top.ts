import { EXIT, ReportedFailure, StackctlError } from '../../errors.js';
import { openTop } from '../../lifecycle/top.js';
import { applyKey, INITIAL_UI, orderedRows, renderTop, type TopStyle, type TopUi } from '../../plan/top.js';
import { openScreen } from '../../ui/screen.js';
import type { CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export interface TopFlags {
  schema?: string;
  interval: string;
}

/** Runs the live view until q (exit 0), Ctrl-C or a signal (130). */
export async function topAction(
  env: string | undefined,
  flags: TopFlags,
  ctx: CommandContext,
): Promise<void> {
  const input = process.stdin;
  const output = process.stdout;
  if (!input.isTTY || !output.isTTY)
    throw new StackctlError('E_USAGE', 'stackctl top needs a terminal', {
      hint: 'for a one-off table in a script: stackctl status ENV -r (--json for data)',
    });
  const intervalMs = Math.round(Number(flags.interval) * 1000);
  if (!Number.isFinite(intervalMs) || intervalMs < 250)
    throw new StackctlError(
      'E_USAGE',
      `--interval ${flags.interval} is not a number of seconds of 0.25 or more`,
      {
        hint: '--interval 1',
      },
    );
  const stack = await loadStack(flags.schema, ctx);
  if (env !== undefined) requireEnvironment(stack.file, env);
  const source = await openTop(stack, { envName: env }, ctx);
  const screen = openScreen(input, output);
  const style: TopStyle = {
    header: (text) => ctx.colors.bold(text),
    selected: (text) => ctx.colors.inverse(text),
    bad: (text) => ctx.colors.red(text),
    dim: (text) => ctx.colors.dim(text),
  };
  let ui: TopUi = INITIAL_UI;
  const draw = (): void => screen.draw(renderTop(source.current(), source.logs(), ui, screen.size(), style));
  let redraw: NodeJS.Timeout | undefined;
  // Log lines can come in bursts: one redraw per 50 ms at most.
  const soon = (): void => {
    redraw ??= setTimeout(() => {
      redraw = undefined;
      draw();
    }, 50);
  };
  source.onChange(soon);
  screen.onResize(draw);
  draw();

  const code = await new Promise<number>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (redraw) clearTimeout(redraw);
      source.close();
      screen.close();
      resolve(code);
    };
    ctx.signal.addEventListener('abort', () => finish(130), { once: true });
    screen.onKey((key) => {
      const next = applyKey(ui, key, source.current().rows);
      ui = next.ui;
      if (next.action?.kind === 'quit') return finish(next.action.code);
      if (next.action?.kind === 'restart') {
        const { environment, service } = next.action;
        void source
          .restart(environment, service)
          .then((message) => (ui = { ...ui, message }))
          .catch(
            (error: Error) => (ui = { ...ui, message: `restart of ${service} failed: ${error.message}` }),
          )
          .finally(draw);
      }
      const count = orderedRows(source.current().rows).length;
      if (ui.selected >= count && count > 0) ui = { ...ui, selected: count - 1 };
      draw();
    });
    // One refresh at a time: the next starts a full interval after this one began (or at once when
    // it took longer), so a slow engine is never asked twice at the same time.
    const tick = (): void => {
      if (done) return;
      const began = Date.now();
      source
        .refresh(draw)
        .catch((error: Error) => (ui = { ...ui, message: `refresh failed: ${error.message}` }))
        .finally(() => {
          draw();
          if (!done) timer = setTimeout(tick, Math.max(0, intervalMs - (Date.now() - began)));
        });
    };
    tick();
  });
  if (code !== 0) throw new ReportedFailure(code === 130 ? EXIT.interrupted : EXIT.runtime);
}

import { EXIT, ReportedFailure } from '../../errors.js';
import { readGpuChoice } from '../../effects/state.js';
import { gatherHostFacts } from '../../effects/probe/index.js';
import { resolveEnvironment, type GpuSelection } from '../../model/environment.js';
import { chooseGpuLayout, GPU_MODES, type GpuMode, type LayoutChoice } from '../../plan/gpu-layout.js';
import { preflightChecks, type Check } from '../../preflight/checks.js';
import type { Colors } from '../../ui/colors.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { runCiChecks } from './preflight-ci.js';
import { startProgress } from '../../ui/progress.js';

export interface PreflightFlags {
  gpu?: GpuMode;
  schema?: string;
  json?: boolean;
  ci?: boolean;
}

export async function preflightAction(
  envName: string,
  flags: PreflightFlags,
  ctx: CommandContext,
): Promise<void> {
  if (flags.ci === true) {
    await runCiChecks(envName, flags, ctx);
    return;
  }
  const stack = await loadStack(flags.schema, ctx);
  const env = requireEnvironment(stack.file, envName);
  const recorded = await readGpuChoice(stack.root, envName);
  const mode: GpuMode = flags.gpu ?? asMode(recorded?.profile) ?? asMode(env.gpu.profile) ?? 'auto';
  const needGpu = mode !== 'cpu' && (env.gpu.required || flags.gpu !== undefined);

  const progress = startProgress(ctx, `Checking the host for ${envName}`);
  const draft = resolveEnvironment(stack.file, envName, selection(recorded, env.gpu.profile));
  const facts = await gatherHostFacts(draft, { env: ctx.env, needGpu, signal: ctx.signal }).finally(() =>
    progress.stop(),
  );

  let layout: LayoutChoice | undefined;
  if (needGpu && facts.gpus?.ok === true) layout = chooseGpuLayout(facts.gpus.detection, mode);
  const model =
    layout?.ok === true
      ? resolveEnvironment(stack.file, envName, {
          profile: layout.layout.profile,
          variables: layout.layout.variables,
        })
      : draft;
  const checks = preflightChecks({ model, facts, gpuMode: needGpu ? mode : 'cpu', layout });
  report(envName, checks, flags, ctx);
}

function asMode(profile: string | undefined): GpuMode | undefined {
  return GPU_MODES.find((mode) => mode === profile);
}

function selection(
  recorded: { profile: string; variables: Record<string, string> } | undefined,
  profile: string,
): GpuSelection {
  return recorded ? { profile: recorded.profile, variables: recorded.variables } : { profile, variables: {} };
}

export function report(
  envName: string,
  checks: readonly Check[],
  flags: { json?: boolean },
  ctx: CommandContext,
): void {
  const ok = checks.every((check) => check.status !== 'fail');
  if (flags.json === true) {
    printJson(ctx.stdout, { environment: envName, ok, checks });
  } else {
    const width = Math.max(...checks.map((check) => check.id.length));
    for (const check of checks) printLine(ctx.stdout, formatCheck(check, width, ctx.colors));
    printLine(ctx.stdout, summary(envName, checks, ctx.colors));
  }
  if (!ok) throw new ReportedFailure(EXIT.preflight);
}

const MARKS = { pass: '✔', warn: '⚠', fail: '✖' } as const;

function formatCheck(check: Check, width: number, colors: Colors): string {
  const paint = check.status === 'pass' ? colors.green : check.status === 'warn' ? colors.yellow : colors.red;
  const line = `${paint(MARKS[check.status])} ${check.id.padEnd(width)}  ${check.message}`;
  return check.status === 'pass' || check.fix === ''
    ? line
    : `${line}\n  ${' '.repeat(width)}  ${colors.dim('fix:')} ${check.fix}`;
}

function summary(envName: string, checks: readonly Check[], colors: Colors): string {
  const failed = checks.filter((check) => check.status === 'fail').length;
  const warned = checks.filter((check) => check.status === 'warn').length;
  const warnText = warned === 0 ? '' : `, ${warned} warning${warned === 1 ? '' : 's'}`;
  return failed === 0
    ? colors.green(`✔ ${envName}: host is ready${warnText}`)
    : colors.red(`✖ ${envName}: ${failed} check${failed === 1 ? '' : 's'} failed${warnText}`);
}

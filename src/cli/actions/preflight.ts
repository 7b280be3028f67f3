import { EXIT, ReportedFailure } from '../../errors.js';
import { readGpuChoice } from '../../effects/state.js';
import { gatherHostFacts } from '../../effects/probe/index.js';
import { resolveEnvironment, type GpuSelection } from '../../model/environment.js';
import {
  chooseGpuLayout,
  chooseWithFallback,
  GPU_MODES,
  type GpuMode,
  type LayoutChoice,
} from '../../plan/gpu-layout.js';
import { preflightChecks, type Check } from '../../preflight/checks.js';
import { secretStrengthChecks } from '../../preflight/secret-strength.js';
import { readSecretStore } from '../../effects/secret-store.js';
import type { Colors } from '../../ui/colors.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment, type LoadedStack } from '../load-stack.js';
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
  requireEnvironment(stack.file, envName);
  const assessment = await assessHost(stack, envName, flags.gpu, ctx);
  report(envName, assessment.checks, flags, ctx);
}

export interface HostAssessment {
  readonly checks: readonly Check[];
  /** The GPU layout for this run: the host's, when GPUs were needed and found; else the recorded one. */
  readonly gpu: GpuSelection | undefined;
}

/** Probes the host and runs every check for an environment (preflight, and start before it starts). */
export async function assessHost(
  stack: LoadedStack,
  envName: string,
  gpuFlag: GpuMode | undefined,
  ctx: CommandContext,
  options: { generatesFiles?: boolean } = {},
): Promise<HostAssessment> {
  const env = requireEnvironment(stack.file, envName);
  const recorded = await readGpuChoice(stack.root, envName);
  const mode: GpuMode = gpuFlag ?? asMode(recorded?.profile) ?? asMode(env.gpu.profile) ?? 'auto';
  const needGpu = mode !== 'cpu' && (env.gpu.required || gpuFlag !== undefined);

  const progress = startProgress(ctx, `Checking the host for ${envName}`);
  const draft = resolveEnvironment(stack.file, envName, selection(recorded, env.gpu.profile));
  const facts = await gatherHostFacts(draft, {
    env: ctx.env,
    root: stack.root,
    needGpu,
    signal: ctx.signal,
  }).finally(() => progress.stop());

  let layout: LayoutChoice | undefined;
  if (needGpu && facts.gpus?.ok === true) {
    // The environment's own profile may fall back (gpu.fallback); --gpu and a recorded choice may not.
    const ownProfile = gpuFlag === undefined && recorded === undefined;
    layout = ownProfile
      ? chooseWithFallback(facts.gpus.detection, mode, asMode(env.gpu.fallback))
      : chooseGpuLayout(facts.gpus.detection, mode);
  }
  const gpu: GpuSelection | undefined =
    layout?.ok === true
      ? { profile: layout.layout.profile, variables: layout.layout.variables }
      : mode === 'cpu' && gpuFlag !== undefined
        ? { profile: 'cpu', variables: {} }
        : recorded
          ? { profile: recorded.profile, variables: recorded.variables }
          : undefined;
  const model = gpu ? resolveEnvironment(stack.file, envName, gpu) : draft;
  const checks = preflightChecks({
    model,
    facts,
    gpuMode: needGpu ? mode : 'cpu',
    layout,
    generatesFiles: options.generatesFiles === true,
  });
  const store = await readSecretStore(stack.root, envName);
  if (store) checks.push(...secretStrengthChecks(stack.file, envName, store));
  return { checks, gpu };
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
  scope: 'host' | 'ci' = 'host',
): void {
  const ok = checks.every((check) => check.status !== 'fail');
  if (flags.json === true) {
    printJson(ctx.stdout, { environment: envName, ok, checks });
  } else {
    for (const line of formatChecks(checks, ctx.colors)) printLine(ctx.stdout, line);
    printLine(ctx.stdout, summary(envName, checks, ctx.colors, scope));
  }
  if (!ok) throw new ReportedFailure(EXIT.preflight);
}

/** Checks as preflight prints them, aligned: one line each, and a fix line under each problem. */
export function formatChecks(checks: readonly Check[], colors: Colors): string[] {
  const width = Math.max(...checks.map((check) => check.id.length));
  return checks.map((check) => formatCheck(check, width, colors));
}

const MARKS = { pass: '✔', warn: '⚠', fail: '✖' } as const;

function formatCheck(check: Check, width: number, colors: Colors): string {
  const paint = check.status === 'pass' ? colors.green : check.status === 'warn' ? colors.yellow : colors.red;
  const line = `${paint(MARKS[check.status])} ${check.id.padEnd(width)}  ${check.message}`;
  return check.status === 'pass' || check.fix === ''
    ? line
    : `${line}\n  ${' '.repeat(width)}  ${colors.dim('fix:')} ${check.fix}`;
}

function summary(envName: string, checks: readonly Check[], colors: Colors, scope: 'host' | 'ci'): string {
  const failed = checks.filter((check) => check.status === 'fail').length;
  const warned = checks.filter((check) => check.status === 'warn').length;
  const warnText = warned === 0 ? '' : `, ${warned} warning${warned === 1 ? '' : 's'}`;
  // --ci checks what a CI runner can: the schema and the repository, never the host.
  const passed =
    scope === 'ci'
      ? `${checks.length} CI checks passed (${[...new Set(checks.map((check) => check.id.split('.')[0]))].join(', ')}); the host was not checked: run stackctl preflight ${envName} on it`
      : 'host is ready';
  return failed === 0
    ? colors.green(`✔ ${envName}: ${passed}${warnText}`)
    : colors.red(`✖ ${envName}: ${failed} check${failed === 1 ? '' : 's'} failed${warnText}`);
}

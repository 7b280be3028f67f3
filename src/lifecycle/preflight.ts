// Preflight's gathering: the host probed (Docker, GPUs, ports, paths), the recorded GPU choice and the
// secret store read, compose's effective configuration asked; src/preflight/ then judges the facts.
import { gatherHostFacts } from '../effects/probe/index.js';
import { NOT_REQUIRED } from './gpu-choice.js';
import { gatherAllReduceFacts, gatherVllmFit } from './models.js';
import type { ResolvedRun } from './run.js';
import { StackctlError } from '../errors.js';
import type { EnvironmentModel } from '../model/environment.js';
import { hostPathsOf } from '../model/host-paths.js';
import { effectiveHostPaths, effectivePorts } from '../plan/effective-host.js';
import { decideGpu, needsGpuDetection, type GpuDecision } from '../plan/gpu-choice.js';
import { startProgress } from '../ui/progress.js';
import type { UiContext } from '../ui/terminal.js';
import { preflightChecks, type Check } from '../preflight/checks.js';
import { customAllReduceCheck } from '../preflight/all-reduce-check.js';
import { vllmFitCheck } from '../preflight/model-fit-check.js';
import { secretStrengthChecks } from '../preflight/secret-strength.js';

export interface HostAssessment {
  readonly checks: readonly Check[];
  /** The GPU layout for this run, decided from the host's GPUs when they were needed. */
  readonly gpu: GpuDecision;
}

/** Probes the host and runs every check for an environment (preflight, and start before it starts). */
export async function assessHost(
  run: ResolvedRun,
  ctx: UiContext,
  options: {
    generatesFiles?: boolean;
    skipChecks?: readonly string[];
    /** compose's effective configuration for the model (overlay applied); undefined without compose. */
    readEffective?: (model: EnvironmentModel) => Promise<unknown>;
  } = {},
): Promise<HostAssessment> {
  const { stack, envName, gpuInput: input } = run;
  const needGpu = needsGpuDetection(input, run.gpuRequired);

  const progress = startProgress(ctx, `Checking the host for ${envName}`);
  const draft = run.model(decideGpu({ ...input, detection: NOT_ASKED }).selection);
  const effective = await readEffective(draft, options.readEffective);
  const facts = await gatherHostFacts(draft, {
    env: ctx.env,
    root: stack.root,
    needGpu,
    signal: ctx.signal,
    ...(effective.document === undefined
      ? {}
      : {
          effective: {
            hostPaths: effectiveHostPaths(effective.document, stack.root, hostPathsOf(draft)),
            ports: effectivePorts(effective.document),
          },
        }),
  }).finally(() => progress.stop());

  const gpu = decideGpu({
    ...input,
    detection:
      facts.gpus?.ok === true
        ? { ok: true, facts: facts.gpus.detection }
        : needGpu
          ? { ok: false, why: facts.gpus?.ok === false ? facts.gpus.message : 'nvidia-smi was not asked' }
          : NOT_ASKED,
  });
  const model = run.model(gpu.selection);
  const checks = preflightChecks({
    model,
    facts,
    gpuMode: needGpu ? gpu.mode : 'cpu',
    layout: gpu.layout,
    generatesFiles: options.generatesFiles === true,
  });
  if (effective.problem) checks.unshift(effective.problem);
  if (gpu.layout?.ok === true) {
    const fit = await gatherVllmFit(
      { model, root: stack.root, hfToken: run.store?.secrets['HF_TOKEN']?.value },
      gpu.layout.layout.devices,
      { env: ctx.env, cwd: stack.root, signal: ctx.signal },
    );
    if (fit) checks.push(vllmFitCheck(fit, envName));
    const allReduce = await gatherAllReduceFacts(
      model,
      gpu.layout.layout.devices,
      facts.gpus?.ok === true ? facts.gpus.detection.links : [],
      ctx,
    );
    if (allReduce) checks.push(customAllReduceCheck(allReduce));
  }
  if (run.store) checks.push(...secretStrengthChecks(stack.file, envName, run.store));
  return { checks: skipped(checks, options.skipChecks ?? [], envName), gpu };
}

/** compose's effective configuration, or the check that says why it could not be read. */
async function readEffective(
  model: EnvironmentModel,
  read: ((model: EnvironmentModel) => Promise<unknown>) | undefined,
): Promise<{ document?: unknown; problem?: Check }> {
  if (!read) return {};
  try {
    const document = await read(model);
    return document === undefined ? {} : { document };
  } catch (error) {
    return {
      problem: {
        id: 'compose.config',
        status: 'fail',
        message: (error as Error).message,
        fix:
          (error as { hint?: string }).hint ??
          'fix the file compose names (compose/local.override.yml is yours)',
      },
    };
  }
}

/**
 * --skip-check ID: the checks of that id (paths.ai-agents) or under it (paths) are reported as
 * skipped, never as passed; an id that names no check is a usage error, so a typo never hides.
 */
function skipped(checks: readonly Check[], skip: readonly string[], envName: string): Check[] {
  const matches = (check: Check, id: string): boolean => check.id === id || check.id.startsWith(`${id}.`);
  for (const id of skip)
    if (!checks.some((check) => matches(check, id)))
      throw new StackctlError('E_USAGE', `--skip-check ${id} names no preflight check of ${envName}`, {
        hint: `checks that did not pass: ${
          checks
            .filter((check) => check.status !== 'pass')
            .map((check) => check.id)
            .join(', ') || 'none'
        } (every id: stackctl preflight ${envName} --json)`,
      });
  return checks.map((check) =>
    skip.some((id) => matches(check, id)) && check.status !== 'pass'
      ? { ...check, status: 'warn', message: `skipped (--skip-check): ${check.message}`, fix: '' }
      : check,
  );
}

const NOT_ASKED = { ok: false, why: NOT_REQUIRED } as const;

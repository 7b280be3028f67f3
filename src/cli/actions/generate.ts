import { relative, join } from 'node:path';
import { EXIT, ReportedFailure, StackctlError } from '../../errors.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { generateEnvironments, type FileResult } from '../../lifecycle/generation.js';
import { chooseRunGpu, generatedGpu } from '../../lifecycle/gpu-choice.js';
import { resolveRun } from '../../lifecycle/run.js';
import { describeGpuDecision, type GpuDecision } from '../../plan/gpu-choice.js';
import type { GpuMode } from '../../plan/gpu-layout.js';
import { loadStack, requireEnvironment, type LoadedStack } from '../load-stack.js';

export interface GenerateFlags {
  all?: boolean;
  schema?: string;
  check?: boolean;
  json?: boolean;
  gpu?: GpuMode;
}

export async function generateAction(
  envs: string[],
  flags: GenerateFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  const environments = chooseEnvironments(stack, envs, flags.all === true);
  const check = flags.check === true;
  // --gpu asks the host (auto, multi, single); without it the recorded layout or the profile is used.
  const decisions = new Map<string, GpuDecision>();
  for (const env of environments) {
    const run = await resolveRun(stack, { envName: env, gpu: flags.gpu });
    decisions.set(env, flags.gpu === undefined ? generatedGpu(run) : await chooseRunGpu(run, ctx));
  }
  const { prepared, results } = await generateEnvironments(
    stack,
    {
      environments,
      check,
      gpu: new Map([...decisions].map(([env, decision]) => [env, decision.selection])),
    },
    ctx,
  );

  const rel = (path: string): string => relative(ctx.cwd, join(stack.root, path)) || path;
  if (flags.json === true) {
    printJson(ctx.stdout, {
      environments: prepared.plan.environments.map((env) => ({
        name: env.name,
        envFile: rel(env.envFile),
        composeFiles: env.composeFiles.map(rel),
      })),
      files: results,
    });
  } else {
    for (const [env, decision] of decisions)
      printLine(ctx.stderr, ctx.colors.dim(`${env}: ${describeGpuDecision(decision)}`));
    printReport(results, check, prepared.createdSecrets, ctx);
  }
  if (check && results.some((result) => result.status !== 'unchanged'))
    throw new ReportedFailure(EXIT.runtime);
}

function chooseEnvironments(stack: LoadedStack, envs: string[], all: boolean): string[] {
  if (all && envs.length > 0) {
    throw new StackctlError('E_USAGE', 'give environment names or --all, not both', {
      hint: 'stackctl generate --all',
    });
  }
  if (all) return Object.keys(stack.file.environments);
  if (envs.length === 0) {
    throw new StackctlError('E_USAGE', 'which environments? name them or pass --all', {
      hint: `stackctl generate ${Object.keys(stack.file.environments)[0] ?? 'ENV'}  (or --all)`,
    });
  }
  for (const env of envs) requireEnvironment(stack.file, env);
  return [...new Set(envs)];
}

function printReport(
  results: readonly FileResult[],
  check: boolean,
  created: ReadonlyMap<string, readonly string[]>,
  ctx: CommandContext,
): void {
  const { colors } = ctx;
  const changed = results.filter((result) => result.status !== 'unchanged');
  if (check) {
    for (const result of changed) {
      printLine(
        ctx.stdout,
        `${colors.red(result.status === 'created' ? 'missing' : 'differs')}  ${result.path}`,
      );
    }
    printLine(
      ctx.stderr,
      changed.length === 0
        ? colors.green(`✔ all ${results.length} generated files are up to date`)
        : colors.red(
            `✖ ${changed.length} of ${results.length} generated files are missing or out of date; run stackctl generate`,
          ),
    );
    return;
  }
  for (const result of changed)
    printLine(ctx.stdout, `${colors.green(result.status.padEnd(9))} ${result.path}`);
  for (const [env, names] of created) {
    if (names.length > 0)
      printLine(
        ctx.stdout,
        colors.dim(`${env}: generated ${names.length} new secret${names.length === 1 ? '' : 's'}`),
      );
  }
  printLine(
    ctx.stderr,
    colors.green(
      `✔ ${changed.length} file${changed.length === 1 ? '' : 's'} written, ${results.length - changed.length} unchanged`,
    ),
  );
}

// One environment as compose sees it, for the commands that change what it runs (pull, build,
// upgrade, rollback): the run resolved once, the files generation plans for it (on disk, or a
// private copy when they differ, so a pull writes nothing in the project), compose's resolved
// configuration, and compose runs over those files with secrets redacted from what it prints.
import type Docker from 'dockerode';
import { applyFiles } from '../effects/apply-files.js';
import { readComposeConfig, requireCompose, runCompose, type ComposeRun } from '../effects/compose-runner.js';
import { dockerClient, type ComposeFlavour } from '../effects/docker.js';
import { redactor } from '../generate/redact.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import { parseEffectiveConfig, type EffectiveService } from '../plan/effective.js';
import { composeArgs } from '../plan/start.js';
import { composeEnvironment, overPlan } from './effective-config.js';
import { prepareGeneration, type PreparedGeneration } from './generation.js';
import { chooseRunGpu } from './gpu-choice.js';
import { resolveRun, type ResolvedRun } from './run.js';

export interface ComposeSessionIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly signal: AbortSignal;
}

export interface ComposeSession {
  readonly stack: LoadedStack;
  readonly run: ResolvedRun;
  readonly model: EnvironmentModel;
  readonly prepared: PreparedGeneration;
  readonly docker: Docker;
  readonly composeFlavour: ComposeFlavour;
  /** The arguments every compose run starts with (-p, --project-directory, --env-file, -f...). */
  readonly baseArgs: readonly string[];
  /** Whether the planned files are on disk as planned (else compose reads a private copy). */
  readonly onDisk: boolean;
  readonly effective: ReadonlyMap<string, EffectiveService>;
  /** Compose's resolved configuration as it printed it (volumes, labels, mounts). */
  readonly document: unknown;
  readonly redact: (text: string) => string;
  /** Runs compose with `args` after the base arguments, over the planned files. */
  compose(
    args: readonly string[],
    options?: { onLine?: (line: string) => void; signal?: AbortSignal },
  ): Promise<ComposeRun>;
  /** The image reference compose uses for a service (a build without image: is <project>-<service>). */
  imageOf(service: string): string;
}

/**
 * Opens the environment for compose runs. With `filesOnDisk`, compose reads the generated files as
 * they are on disk (a rollback has just written a release's saved copies back), not as planned.
 */
export async function openComposeSession(
  stack: LoadedStack,
  envName: string,
  io: ComposeSessionIo,
  options: { readonly filesOnDisk?: boolean } = {},
): Promise<ComposeSession> {
  const run = await resolveRun(stack, { envName });
  const gpu = await chooseRunGpu(run, io);
  const model = run.model(gpu.selection);
  const prepared = await prepareGeneration(stack, [envName], {
    createSecrets: true,
    gpuOverride: new Map([[envName, gpu.selection]]),
  });
  const files = prepared.plan.environments.find((environment) => environment.name === envName);
  if (!files) throw new Error(`generation planned no files for ${envName}`);
  const checked = await applyFiles(stack.root, io.cwd, prepared.plan.files, {
    check: true,
    signal: io.signal,
  });
  const onDisk = options.filesOnDisk === true || checked.every((file) => file.status === 'unchanged');
  const composeFlavour = await requireCompose(io.env);
  const baseArgs = composeArgs(model, stack.root, files);
  const secrets = [...prepared.stores.values()].flatMap((store) =>
    Object.values(store.secrets).map((entry) => entry.value),
  );
  const redact = redactor(secrets);
  const env = composeEnvironment(io.env, stack.file);
  const document = await overPlan(stack, prepared, baseArgs, onDisk, (args) =>
    readComposeConfig(composeFlavour, args, { env, signal: io.signal, redact }),
  );
  const effective = parseEffectiveConfig(document);
  return {
    stack,
    run,
    model,
    prepared,
    docker: dockerClient(io.env),
    composeFlavour,
    baseArgs,
    onDisk,
    effective,
    document,
    redact,
    compose: (args, options = {}) =>
      overPlan(stack, prepared, baseArgs, onDisk, (base) =>
        runCompose(composeFlavour, [...base, ...args], {
          env,
          signal: options.signal ?? io.signal,
          redact,
          ...(options.onLine ? { onLine: options.onLine } : {}),
        }),
      ),
    imageOf: (service) => effective.get(service)?.image ?? `${model.project}-${service}`,
  };
}

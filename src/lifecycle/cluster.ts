// An environment resolved for a cluster: the steps of a compose start up to what compose resolves
// (request, preflight, generated files, `docker compose config` over them and the user's overlay).
// Swarm stack files and Kubernetes manifests are rendered from it.
import { readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { COMPOSE_DIR, LOCAL_OVERRIDE } from '../generate/compose-files.js';
import type { LoadedStack } from '../model/stack.js';
import type { EnvironmentModel } from '../model/environment.js';
import { resolveRun } from './run.js';
import { asComposeDocument } from '../plan/compose-document.js';
import { readConfigOverPlan } from './effective-config.js';
import type { GpuDecision } from '../plan/gpu-choice.js';
import { planStart, type StartPlan } from '../plan/start.js';
import type { Check } from '../preflight/checks.js';
import {
  checkHost,
  composeArgsFor,
  prepare,
  resolveRequest,
  writeFiles,
  type EngineLookup,
  type Generated,
  type StartIo,
  type StartRequest,
  type StartView,
} from './start.js';

/** An environment resolved for a cluster: its files generated, and what compose makes of them. */
export interface ClusterSource {
  readonly model: EnvironmentModel;
  readonly generated: Generated;
  /** `docker compose config --format json` (holds secret values: never printed). */
  readonly effective: unknown;
  readonly secrets: ReadonlyMap<string, string>;
  /** Text of each regular file under the project that a service mounts read-only. */
  readonly mountedFiles: ReadonlyMap<string, string>;
  readonly plan: StartPlan;
  readonly findings: readonly Check[];
  /** The GPU layout the files were generated with, and why. */
  readonly gpu: GpuDecision;
  /** The user's overlay compose read (its path), or why none was: absent, or left out (--no-overlay). */
  readonly overlay: string;
}

/**
 * The steps of a compose start up to what compose resolves: request, preflight, generated files,
 * `docker compose config` over them and the user's overlay.
 */
export async function resolveForCluster(
  stack: LoadedStack,
  request: StartRequest,
  engine: EngineLookup,
  io: StartIo,
  view: StartView,
  options: { readonly withoutOverlay?: boolean } = {},
): Promise<{ kind: 'preflight-failed'; findings: readonly Check[] } | ({ kind: 'ready' } & ClusterSource)> {
  resolveRequest(stack.file, request);
  const run = await resolveRun(stack, request);
  const host = await checkHost(run, request, io, view);
  if (host.failed && !request.dryRun) return { kind: 'preflight-failed', findings: host.findings };
  const generated = await writeFiles(stack, request, await prepare(run, host.gpu.selection), io);
  const model = run.model(host.gpu.selection);
  const overlayPath = join(stack.root, COMPOSE_DIR, LOCAL_OVERRIDE);
  const withOverlay = await composeArgsFor(stack, model, generated.envFiles, undefined);
  const overlay = withOverlay.includes(overlayPath) ? `${COMPOSE_DIR}/${LOCAL_OVERRIDE}` : undefined;
  // --no-overlay: the files generate writes, without the user's compose/local.override.yml.
  const args =
    options.withoutOverlay === true
      ? withOverlay.filter((arg, index) => arg !== overlayPath && withOverlay[index + 1] !== overlayPath)
      : withOverlay;
  const current = generated.files.every((file) => file.status === 'unchanged');
  const secrets = new Map(
    Object.entries(generated.prepared.stores.get(request.envName)?.secrets ?? {}).map(
      ([name, entry]) => [name, entry.value] as const,
    ),
  );
  // A dry run writes nothing in the project: compose reads the planned files from a private copy.
  const effective = await readConfigOverPlan(
    stack,
    generated.prepared,
    args,
    current || !request.dryRun,
    await engine.compose,
    io,
  );
  return {
    kind: 'ready',
    model,
    generated,
    effective,
    secrets,
    mountedFiles: await readMountedFiles(effective, stack.root),
    plan: planStart(stack.file, model, args, { stacks: request.stacks, services: request.services }),
    findings: host.findings,
    gpu: host.gpu,
    overlay: overlay === undefined ? 'absent' : options.withoutOverlay === true ? 'left out' : overlay,
  };
}

/** Every regular file under the project that a service mounts read-only (configs on a cluster). */
async function readMountedFiles(effective: unknown, root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const service of Object.values(asComposeDocument(effective).services ?? {})) {
    for (const volume of service.volumes ?? []) {
      const source = volume.source;
      if (volume.type !== 'bind' || volume.read_only !== true || !source || out.has(source)) continue;
      const inside = relative(root, source);
      if (inside.startsWith(`..${sep}`) || inside === '..') continue;
      const info = await stat(source).catch(() => undefined);
      if (!info?.isFile()) continue;
      out.set(source, await readFile(source, 'utf8'));
    }
  }
  return out;
}

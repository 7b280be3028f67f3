import { relative } from 'node:path';
import { StackctlError } from '../../errors.js';
import {
  exportKubernetes,
  exportSwarm,
  type ExportedWith,
  type ExportRequest,
} from '../../lifecycle/export.js';
import { pushCommands, REGISTRY_PATTERN } from '../../plan/registry.js';
import { lookUpEngine } from '../../lifecycle/start.js';
import { describeGpuDecision, gpuJson } from '../../plan/gpu-choice.js';
import type { GpuMode } from '../../plan/gpu-layout.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

/** Flags both exports take. */
interface ExportCommonFlags {
  /** false with --no-overlay. */
  overlay?: boolean;
  registry?: string;
}

export interface ExportSwarmFlags extends ExportCommonFlags {
  out?: string;
  force?: boolean;
  gpu?: GpuMode;
  schema?: string;
  json?: boolean;
}

/** `export swarm ENV --out FILE`: the stack file `docker stack deploy -c FILE` takes; nothing deployed. */
export async function exportSwarmAction(
  envName: string,
  flags: ExportSwarmFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const request: ExportRequest = {
    envName,
    out: flags.out ?? `${envName}.swarm.yml`,
    ...(flags.force === true ? { force: true } : {}),
    ...(flags.gpu ? { gpu: flags.gpu } : {}),
    ...commonRequest(flags),
  };
  const { path, swarm, ...used } = await exportSwarm(stack, request, lookUpEngine(ctx.env), ctx);
  if (flags.json === true) {
    printJson(ctx.stdout, {
      environment: envName,
      stack: swarm.name,
      file: path,
      secrets: swarm.secrets.map((secret) => ({ name: secret.name, variable: secret.variable })),
      fromEnvironment: swarm.interpolated,
      ...usedJson(used),
      notes: swarm.notes,
    });
    return;
  }
  printLine(
    ctx.stdout,
    `✔ wrote ${path} (stack ${swarm.name}, ${Object.keys(swarm.document.services).length} services)`,
  );
  if (swarm.secrets.length > 0)
    printLine(
      ctx.stdout,
      `  Docker secrets it uses (stackctl start ${envName} --swarm creates them): ${swarm.secrets.map((secret) => secret.name).join(', ')}`,
    );
  if (swarm.interpolated.length > 0)
    printLine(
      ctx.stdout,
      `  docker reads these from its environment at deploy time: ${swarm.interpolated.join(', ')} (set -a; . ./.env.${envName}; set +a)`,
    );
  printUsed(used, ctx);
  printLine(ctx.stdout, `  deploy: docker stack deploy -c ${relative(ctx.cwd, path) || path} ${swarm.name}`);
  for (const note of swarm.notes) printLine(ctx.stdout, `  note: ${note}`);
}

export interface ExportK8sFlags extends ExportCommonFlags {
  gpuSharing?: string;
  out?: string;
  gpu?: GpuMode;
  externalSecrets?: string;
  clusterStore?: boolean;
  schema?: string;
  json?: boolean;
}

/** `export k8s ENV --out DIR`: a Kustomize base and the environment's overlay. */
export async function exportK8sAction(
  envName: string,
  flags: ExportK8sFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  if (flags.externalSecrets !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(flags.externalSecrets))
    throw new StackctlError(
      'E_USAGE',
      `--external-secrets "${flags.externalSecrets}" is not a Kubernetes object name`,
      {
        hint: 'name the SecretStore (or ClusterSecretStore with --cluster-store) the ExternalSecret reads from',
      },
    );
  const sharing = flags.gpuSharing === undefined ? undefined : Number(flags.gpuSharing);
  if (sharing !== undefined && (!Number.isInteger(sharing) || sharing < 2 || sharing > 64))
    throw new StackctlError(
      'E_USAGE',
      `--gpu-sharing "${flags.gpuSharing}" is not a whole number from 2 to 64`,
      {
        hint: 'how many pods may share one GPU, e.g. --gpu-sharing 4',
      },
    );
  const request: ExportRequest = {
    envName,
    out: flags.out ?? 'k8s',
    ...(flags.gpu ? { gpu: flags.gpu } : {}),
    ...commonRequest(flags),
  };
  const { folder, rendered, ...used } = await exportKubernetes(
    stack,
    request,
    {
      ...(flags.externalSecrets === undefined
        ? {}
        : {
            externalSecrets: {
              store: flags.externalSecrets,
              kind: flags.clusterStore === true ? 'ClusterSecretStore' : 'SecretStore',
            },
          }),
      ...(sharing === undefined ? {} : { gpuSharing: sharing }),
    },
    lookUpEngine(ctx.env),
    ctx,
  );
  const overlay = `${relative(ctx.cwd, folder) || '.'}/overlays/${envName}`;
  if (flags.json === true) {
    printJson(ctx.stdout, {
      environment: envName,
      namespace: rendered.namespace,
      folder,
      apply: `kubectl apply -k ${overlay}`,
      files: rendered.files.map((file) => file.path),
      ...usedJson(used),
      notes: rendered.notes,
    });
    return;
  }
  printLine(
    ctx.stdout,
    `✔ wrote ${rendered.files.length} files under ${folder} (namespace ${rendered.namespace})`,
  );
  printUsed(used, ctx);
  printLine(ctx.stdout, `  apply: kubectl apply -k ${overlay}`);
  for (const note of rendered.notes) printLine(ctx.stdout, `  note: ${note}`);
}

function commonRequest(flags: ExportCommonFlags): Pick<ExportRequest, 'withoutOverlay' | 'registry'> {
  if (flags.registry !== undefined && !REGISTRY_PATTERN.test(flags.registry))
    throw new StackctlError('E_USAGE', `--registry "${flags.registry}" is not HOST[:PORT][/NAMESPACE]`, {
      hint: 'e.g. --registry registry.example.com/multimodal or --registry localhost:5000/team (no scheme, no tag)',
    });
  return {
    ...(flags.overlay === false ? { withoutOverlay: true } : {}),
    ...(flags.registry !== undefined ? { registry: flags.registry } : {}),
  };
}

function usedJson(used: ExportedWith) {
  return {
    gpu: gpuJson(used.gpu),
    overlay: used.overlay.startsWith('compose/') ? used.overlay : null,
    push: used.images.push,
  };
}

/** The GPU layout, the overlay read (or why none), and the images to push before deploying. */
function printUsed(used: ExportedWith, ctx: CommandContext): void {
  printLine(ctx.stdout, `  ${describeGpuDecision(used.gpu)}`);
  printLine(
    ctx.stdout,
    used.overlay === 'absent'
      ? '  overlay: none (compose/local.override.yml does not exist)'
      : used.overlay === 'left out'
        ? '  overlay: compose/local.override.yml left out (--no-overlay)'
        : `  overlay: ${used.overlay} read last (its images and settings are in the export; --no-overlay leaves it out)`,
  );
  if (used.images.push.length > 0) {
    printLine(
      ctx.stdout,
      '  push the images built from source before deploying (build them first: docker compose build):',
    );
    for (const command of pushCommands(used.images.push)) printLine(ctx.stdout, `    ${command}`);
  }
  for (const named of used.images.named)
    printLine(
      ctx.stdout,
      `  note: ${named.service} is built from source as ${named.image}: push it where the cluster pulls from`,
    );
}

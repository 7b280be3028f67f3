import { relative } from 'node:path';
import { StackctlError } from '../../errors.js';
import { exportKubernetes, exportSwarm, type ExportRequest } from '../../lifecycle/export.js';
import { lookUpEngine } from '../../lifecycle/start.js';
import { describeGpuDecision, gpuJson } from '../../plan/gpu-choice.js';
import type { GpuMode } from '../../plan/gpu-layout.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export interface ExportSwarmFlags {
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
  };
  const { path, swarm, gpu } = await exportSwarm(stack, request, lookUpEngine(ctx.env), ctx);
  if (flags.json === true) {
    printJson(ctx.stdout, {
      environment: envName,
      stack: swarm.name,
      file: path,
      secrets: swarm.secrets.map((secret) => ({ name: secret.name, variable: secret.variable })),
      fromEnvironment: swarm.interpolated,
      gpu: gpuJson(gpu),
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
  printLine(ctx.stdout, `  ${describeGpuDecision(gpu)}`);
  printLine(ctx.stdout, `  deploy: docker stack deploy -c ${relative(ctx.cwd, path) || path} ${swarm.name}`);
  for (const note of swarm.notes) printLine(ctx.stdout, `  note: ${note}`);
}

export interface ExportK8sFlags {
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
  const request: ExportRequest = {
    envName,
    out: flags.out ?? 'k8s',
    ...(flags.gpu ? { gpu: flags.gpu } : {}),
  };
  const { folder, rendered, gpu } = await exportKubernetes(
    stack,
    request,
    flags.externalSecrets === undefined
      ? {}
      : {
          externalSecrets: {
            store: flags.externalSecrets,
            kind: flags.clusterStore === true ? 'ClusterSecretStore' : 'SecretStore',
          },
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
      gpu: gpuJson(gpu),
      notes: rendered.notes,
    });
    return;
  }
  printLine(
    ctx.stdout,
    `✔ wrote ${rendered.files.length} files under ${folder} (namespace ${rendered.namespace})`,
  );
  printLine(ctx.stdout, `  ${describeGpuDecision(gpu)}`);
  printLine(ctx.stdout, `  apply: kubectl apply -k ${overlay}`);
  for (const note of rendered.notes) printLine(ctx.stdout, `  note: ${note}`);
}

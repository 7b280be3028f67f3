import { COMPOSE_LABELS, LABELS } from '../../labels.js';
import { EXIT, ReportedFailure } from '../../errors.js';
import { dockerClient, dockerStatusCode } from '../../effects/docker.js';
import { probeDockerNetworks } from '../../effects/probe/docker-facts.js';
import { probeHostNetworks } from '../../effects/probe/host.js';
import { composeProjectName, resolveEnvironment } from '../../model/environment.js';
import type { StackFile } from '../../schema/types.js';
import { subnetChecks, type Check } from '../../preflight/checks.js';
import { confirm } from '../../ui/confirm.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { report } from './preflight-report.js';

export interface NetworkFlags {
  schema?: string;
  json?: boolean;
  yes?: boolean;
}

/**
 * Networks of this project whose compose project has no container at all. Docker lists only running
 * containers on a network, so an unattached network of a stopped environment is not an orphan: its
 * stopped containers still refer to it and could not start without it.
 */
async function orphanedNetworks(
  ctx: CommandContext,
  file: StackFile,
): Promise<{ id: string; name: string }[]> {
  const project = file.project.name;
  const projects = new Set(Object.keys(file.environments).map((env) => composeProjectName(file, env)));
  const docker = dockerClient(ctx.env);
  const [networks, containers] = await Promise.all([
    docker.listNetworks({ filters: { label: [`${LABELS.project}=${project}`] } }),
    docker.listContainers({ all: true, filters: { label: [COMPOSE_LABELS.project] } }),
  ]);
  const inUse = new Set(containers.map((container) => container.Labels[COMPOSE_LABELS.project] ?? ''));
  const candidates = networks.filter((network) => {
    const composeProject = network.Labels?.[COMPOSE_LABELS.project] ?? '';
    return projects.has(composeProject) && !inUse.has(composeProject);
  });
  const details = await Promise.all(
    candidates.map(
      (network) =>
        docker.getNetwork(network.Id).inspect() as Promise<{
          Id: string;
          Name: string;
          Containers?: Record<string, unknown>;
        }>,
    ),
  );
  return details
    .filter((network) => Object.keys(network.Containers ?? {}).length === 0)
    .map((network) => ({ id: network.Id, name: network.Name }));
}

/** Subnet overlaps (the schema's own are caught by validation), with Docker networks and host routes, and orphans. */
export async function networkCheckAction(
  envName: string | undefined,
  flags: NetworkFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const environments = envName === undefined ? Object.keys(stack.file.environments) : [envName];
  const [dockerNetworks, hostNetworks, orphans] = await Promise.all([
    probeDockerNetworks(dockerClient(ctx.env)),
    probeHostNetworks(),
    orphanedNetworks(ctx, stack.file),
  ]);
  const checks: Check[] = [
    {
      id: 'schema',
      status: 'pass',
      message: 'address pools are valid, private and distinct (stackctl validate)',
      fix: '',
    },
  ];
  for (const env of environments) {
    const model = resolveEnvironment(stack.file, env);
    for (const check of subnetChecks(model, dockerNetworks, hostNetworks)) {
      checks.push({
        ...check,
        id: `${env}.${check.id}`,
        message: check.status === 'pass' ? `${env}: ${check.message}` : check.message,
      });
    }
  }
  checks.push(
    orphans.length === 0
      ? {
          id: 'orphans',
          status: 'pass',
          message: 'no stackctl network is left without an environment',
          fix: '',
        }
      : {
          id: 'orphans',
          status: 'warn',
          message: `networks of environments that have no container left: ${orphans.map((n) => n.name).join(', ')}`,
          fix: 'stackctl network cleanup removes them (only these)',
        },
  );
  report(envName ?? 'all environments', checks, flags, ctx);
}

/** Removes only stackctl networks that no container uses. */
export async function networkCleanupAction(flags: NetworkFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  const orphans = await orphanedNetworks(ctx, stack.file);
  if (orphans.length === 0) {
    if (flags.json === true) printJson(ctx.stdout, { removed: [] });
    else printLine(ctx.stdout, 'No orphaned stackctl network: nothing to remove.');
    return;
  }
  if (flags.json !== true) {
    printLine(
      ctx.stdout,
      'Will remove these networks (their environments have no container, running or stopped):',
    );
    for (const network of orphans) printLine(ctx.stdout, `  network    ${network.name}`);
  }
  await confirm(
    ctx,
    `Remove ${orphans.length} network${orphans.length === 1 ? '' : 's'}?`,
    flags.yes === true,
  );
  const docker = dockerClient(ctx.env);
  const removed: string[] = [];
  for (const network of orphans) {
    try {
      await docker.getNetwork(network.id).remove();
      removed.push(network.name);
    } catch (error) {
      // A container may have joined since the check: leave that network alone.
      if (dockerStatusCode(error) !== 403) throw error;
    }
  }
  if (flags.json === true) printJson(ctx.stdout, { removed });
  else
    printLine(
      ctx.stdout,
      ctx.colors.green(`✔ removed ${removed.length} network${removed.length === 1 ? '' : 's'}`),
    );
  if (removed.length < orphans.length) throw new ReportedFailure(EXIT.runtime);
}

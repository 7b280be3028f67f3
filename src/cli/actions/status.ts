import { readResources, readStatus, unchangedSchemaNames } from '../../lifecycle/status.js';
import type { ResourceUsage } from '../../host/docker-stats.js';
import { table } from '../../ui/table.js';
import { printJson, printLine, type CommandContext } from '../context.js';

export interface StatusFlags {
  schema?: string;
  json?: boolean;
  /** Only these stacks (by the containers' stack label). */
  stack?: string[];
  /** CPU and memory per container (one stats round: about a second more). */
  resources?: boolean;
}

/**
 * Reads containers by label in one Docker API call, so it works even when the generated files are
 * gone, and costs little more than the call itself: an unchanged schema is not validated again.
 */
export async function statusAction(
  envName: string | undefined,
  flags: StatusFlags,
  ctx: CommandContext,
): Promise<void> {
  await statusOf(await schemaNames(flags.schema, envName, ctx), envName, flags, ctx);
}

/** Lists and prints the containers of the environments these names describe (one or all). */
export async function statusOf(
  names: { project: string; environments: readonly string[]; root: string },
  envName: string | undefined,
  flags: StatusFlags,
  ctx: CommandContext,
): Promise<void> {
  const stacks = flags.stack ?? [];
  const entries = await readStatus(names, envName, stacks, ctx.env);
  const resources = flags.resources === true ? await readResources(entries, ctx.env) : undefined;
  const usage = resources?.usage;
  const gpuMemory = resources?.gpuMemory;
  if (flags.json === true) {
    printJson(ctx.stdout, {
      containers:
        usage === undefined
          ? entries
          : entries.map((e) => ({
              ...e,
              ...resourceFields(usage.get(e.container)),
              gpuMemoryMiB: gpuMemory?.get(e.container) ?? null,
            })),
    });
    return;
  }
  if (entries.length === 0) {
    const scope = stacks.length === 0 ? '' : ` in stack ${stacks.join(', ')}`;
    printLine(
      ctx.stdout,
      envName === undefined
        ? `No stackctl containers or swarm services${scope}.`
        : `${envName}: no containers${scope}.`,
    );
    return;
  }
  const resourceHeader =
    usage === undefined ? [] : ['CPU', 'MEMORY', ...(gpuMemory === undefined ? [] : ['GPU MEMORY'])];
  const lines = table(
    [
      ['ENVIRONMENT', 'STACK', 'SERVICE', 'STATE', 'HEALTH', ...resourceHeader, 'PORTS', 'STATUS'],
      ...entries.map((e) => [
        e.environment,
        e.stack || '-',
        e.service,
        e.state,
        e.health ?? '-',
        ...(usage === undefined ? [] : resourceCells(usage.get(e.container))),
        ...(gpuMemory === undefined ? [] : [gpuCell(gpuMemory.get(e.container))]),
        e.ports.join(', ') || '-',
        e.status.replace(/ \((healthy|unhealthy|health: starting)\)$/, ''),
      ]),
    ],
    ctx.colors.bold,
  );
  for (const line of lines) printLine(ctx.stdout, line);
  printLine(ctx.stdout, '');
  for (const environment of [...new Set(entries.map((e) => e.environment))]) {
    const mine = entries.filter((e) => e.environment === environment);
    printLine(ctx.stdout, summaryLine(environment, mine, ctx));
    const urls = mine.filter((e) => e.urls.length > 0).map((e) => `${e.service} ${e.urls.join(' ')}`);
    if (urls.length > 0) printLine(ctx.stdout, `  open: ${urls.join(' · ')}`);
  }
}

/** The --json fields of a container's use (null where it was not measured). */
function resourceFields(use: ResourceUsage | undefined): Record<string, number | null> {
  return {
    cpuPercent: use?.cpuPercent ?? null,
    memoryBytes: use?.memoryBytes ?? null,
    memoryLimitBytes: use?.memoryLimitBytes ?? null,
  };
}

/** `12.5%`, `312.4 MiB / 4096 MiB` (MiB, as lazydocker users ask, not only a percentage). */
function resourceCells(use: ResourceUsage | undefined): [string, string] {
  const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
  const cpu = use?.cpuPercent == null ? '-' : `${use.cpuPercent.toFixed(1)}%`;
  const memory =
    use?.memoryBytes == null
      ? '-'
      : use.memoryLimitBytes == null
        ? mib(use.memoryBytes)
        : `${mib(use.memoryBytes)} / ${(use.memoryLimitBytes / 1048576).toFixed(0)} MiB`;
  return [cpu, memory];
}

/** The GPU memory a container's processes hold; '-' for one that holds none. */
function gpuCell(mib: number | undefined): string {
  return mib === undefined ? '-' : `${String(mib)} MiB`;
}

/** `development: 14 running (12 healthy, 1 starting, 1 unhealthy), 2 exited`. */
function summaryLine(
  environment: string,
  entries: readonly { state: string; health: string | null }[],
  ctx: CommandContext,
): string {
  const count = (pick: (e: { state: string; health: string | null }) => boolean): number =>
    entries.filter(pick).length;
  const running = count((e) => e.state === 'running');
  const health = (['healthy', 'starting', 'unhealthy'] as const)
    .map((word) => [word, count((e) => e.state === 'running' && e.health === word)] as const)
    .filter(([, n]) => n > 0)
    .map(([word, n]) => `${n} ${word}`);
  const others = [...new Set(entries.map((e) => e.state).filter((state) => state !== 'running'))].map(
    (state) => `${count((e) => e.state === state)} ${state}`,
  );
  const text = `${environment}: ${running} running${health.length > 0 ? ` (${health.join(', ')})` : ''}${others.length > 0 ? `, ${others.join(', ')}` : ''}`;
  const bad = others.length > 0 || health.some((part) => part.endsWith('unhealthy'));
  return bad ? ctx.colors.yellow(text) : ctx.colors.green(text);
}

/** The project and environment names, from a schema validated only when it changed. */
async function schemaNames(
  schemaFlag: string | undefined,
  envName: string | undefined,
  ctx: CommandContext,
): Promise<{ project: string; environments: readonly string[]; root: string }> {
  const unchanged = await unchangedSchemaNames(schemaFlag, ctx.cwd, ctx.env).catch(() => undefined);
  if (unchanged && (envName === undefined || unchanged.environments.includes(envName))) return unchanged;
  const { loadStack, requireEnvironment } = await import('../load-stack.js');
  const stack = await loadStack(schemaFlag, ctx, { orRecorded: true });
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  return {
    project: stack.file.project.name,
    environments: Object.keys(stack.file.environments),
    root: stack.root,
  };
}

import { StackctlError } from '../../errors.js';
import { configureGpu, detectHostGpus, readTopologyText } from '../../lifecycle/gpu.js';
import { displayPathOf } from '../../model/stack.js';
import type { GpuDetection } from '../../host/gpus.js';
import {
  parseTopology,
  TopologyParseError,
  type GpuLink,
  type Topology,
} from '../../host/nvidia-smi/topology.js';
import { table } from '../../ui/table.js';
import type { GpuMode } from '../../plan/gpu-layout.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export async function gpuDetectAction(flags: { json?: boolean }, ctx: CommandContext): Promise<void> {
  const detection = await detectHostGpus(ctx);
  if (flags.json === true) {
    printJson(ctx.stdout, { gpus: detection.gpus, links: detection.links });
    return;
  }
  for (const line of describeDetection(detection, ctx)) printLine(ctx.stdout, line);
}

function describeDetection(detection: GpuDetection, ctx: CommandContext): string[] {
  const { colors } = ctx;
  if (detection.gpus.length === 0) {
    return [
      detection.nvidiaSmi ? 'nvidia-smi lists no GPU.' : 'No nvidia-smi on PATH: no NVIDIA GPU to use.',
      colors.dim('GPU services run with the cpu profile: stackctl gpu configure ENV cpu'),
    ];
  }
  const rows = detection.gpus.map((gpu) => [
    `GPU${gpu.index}`,
    gpu.name,
    gpu.memoryTotalMiB === null ? 'n/a' : `${gpu.memoryTotalMiB} MiB`,
    gpu.driverVersion,
    gpu.cpuAffinity ?? '-',
    gpu.numaAffinity ?? '-',
  ]);
  const lines = table([['GPU', 'MODEL', 'MEMORY', 'DRIVER', 'CPU AFFINITY', 'NUMA'], ...rows], colors.bold);
  lines.push('', ...describeLinks(detection.links));
  for (const note of detection.notes) lines.push(colors.yellow(`note: ${note}`));
  return lines;
}

function describeLinks(links: readonly GpuLink[]): string[] {
  const nv = links.filter((link) => link.type === 'NV');
  if (links.length === 0) return ['Links: none (one GPU)'];
  if (nv.length === 0) return ['NVLink: none (GPUs talk over PCIe or the CPU interconnect)'];
  return [
    `NVLink: ${nv.map((link) => `GPU${link.a}-GPU${link.b} (${link.count ?? 0} link${link.count === 1 ? '' : 's'})`).join(', ')}`,
  ];
}

export async function gpuTopologyAction(
  flags: { input?: string; json?: boolean },
  ctx: CommandContext,
): Promise<void> {
  const text = await readTopologyText(flags.input, ctx);
  let topology: Topology;
  try {
    topology = parseTopology(text);
  } catch (error) {
    if (error instanceof TopologyParseError) {
      throw new StackctlError('E_USAGE', `cannot read the topology: ${error.message}`, {
        hint: 'give the output of `nvidia-smi topo -m`, unedited',
      });
    }
    throw error;
  }
  if (flags.json === true) {
    printJson(ctx.stdout, topology);
    return;
  }
  for (const line of describeTopology(topology, ctx)) printLine(ctx.stdout, line);
}

function describeTopology(topology: Topology, ctx: CommandContext): string[] {
  const names = topology.gpus.map((gpu) => `GPU${gpu.index}`);
  const cell = (a: number, b: number): string => {
    if (a === b) return 'X';
    const link = topology.links.find((l) => l.a === Math.min(a, b) && l.b === Math.max(a, b));
    if (!link) return '?';
    return link.type === 'NV' ? `NV${link.count ?? ''}` : link.type;
  };
  const rows = topology.gpus.map((gpu) => [
    `GPU${gpu.index}`,
    ...topology.gpus.map((other) => cell(gpu.index, other.index)),
    gpu.cpuAffinity ?? '-',
    gpu.numaAffinity ?? '-',
  ]);
  const lines = table([['', ...names, 'CPU AFFINITY', 'NUMA'], ...rows], ctx.colors.bold);
  lines.push('', ...describeLinks(topology.links));
  if (topology.nics.length > 0) lines.push(`NICs: ${topology.nics.join(', ')}`);
  return lines;
}

export async function gpuConfigureAction(
  envName: string,
  mode: string,
  flags: { schema?: string; json?: boolean; dryRun?: boolean },
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const { record, layout, notes, path } = await configureGpu(
    stack,
    { envName, mode: mode as GpuMode, dryRun: flags.dryRun === true },
    ctx,
  );
  if (flags.json === true) {
    const recorded = path === undefined ? null : displayPathOf(path, ctx.cwd);
    printJson(ctx.stdout, { ...record, nvlinked: layout.nvlinked, notes, recorded });
    return;
  }
  const { colors } = ctx;
  printLine(
    ctx.stdout,
    `${colors.green('✔')} ${envName}: ${layout.profile} GPU profile` +
      (layout.devices.length > 0
        ? ` on GPU ${layout.devices.join(', ')}, tensor parallel ${layout.tensorParallelSize}` +
          (layout.nvlinked ? ' over NVLink' : '')
        : ' (no GPU reservation)'),
  );
  for (const [name, value] of Object.entries(layout.variables)) printLine(ctx.stdout, `  ${name}=${value}`);
  for (const note of notes) printLine(ctx.stdout, colors.yellow(`note: ${note}`));
  if (path !== undefined) printLine(ctx.stderr, colors.dim(`recorded in ${displayPathOf(path, ctx.cwd)}`));
}

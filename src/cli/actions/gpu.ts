import { readRegularFile } from '../../effects/files.js';
import { textEncodingProblem } from '../../text.js';
import { StackctlError } from '../../errors.js';
import { nvidiaSmiRunner } from '../../effects/nvidia-smi.js';
import { displayPathOf } from '../../effects/schema-file.js';
import { writeGpuChoice } from '../../effects/state.js';
import { detectGpus, nvidiaSmiError, TOPOLOGY_ARGS, type GpuDetection } from '../../host/gpus.js';
import {
  parseTopology,
  TopologyParseError,
  type GpuLink,
  type Topology,
} from '../../host/nvidia-smi/topology.js';
import { table } from '../../ui/table.js';
import { chooseGpuLayout, type GpuMode } from '../../plan/gpu-layout.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export async function gpuDetectAction(flags: { json?: boolean }, ctx: CommandContext): Promise<void> {
  const detection = await detectGpus(nvidiaSmiRunner({ env: ctx.env, signal: ctx.signal }));
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
  const text = await topologyText(flags.input, ctx);
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

async function topologyText(input: string | undefined, ctx: CommandContext): Promise<string> {
  if (input !== undefined) {
    let bytes: Buffer | undefined;
    try {
      bytes = input === '-' ? await readStdin() : await readRegularFile(input);
    } catch (error) {
      if (error instanceof StackctlError) throw error;
      throw new StackctlError('E_USAGE', `cannot read ${input}: ${(error as Error).message}`, {
        hint: 'pass a file holding `nvidia-smi topo -m` output, or - for stdin',
      });
    }
    if (bytes === undefined)
      throw new StackctlError('E_USAGE', `${input} does not exist`, {
        hint: 'pass a file holding `nvidia-smi topo -m` output, or - for stdin',
      });
    const problem = textEncodingProblem(bytes);
    if (problem !== undefined)
      throw new StackctlError(
        'E_USAGE',
        `${input === '-' ? 'stdin' : input} is ${problem}, not nvidia-smi output`,
        {
          hint: 'save the output of `nvidia-smi topo -m` as text (nvidia-smi topo -m > topo.txt)',
        },
      );
    return bytes.toString('utf8');
  }
  const result = await nvidiaSmiRunner({ env: ctx.env, signal: ctx.signal })(TOPOLOGY_ARGS);
  if (!result.found) {
    throw new StackctlError('E_PREFLIGHT', 'nvidia-smi is not on PATH', {
      hint: 'install the NVIDIA driver, or pass a saved output with --input FILE',
    });
  }
  if (result.exitCode !== 0) throw nvidiaSmiError(result.output);
  return result.output;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
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
  const env = requireEnvironment(stack.file, envName);
  const requested = mode as GpuMode;
  const detection: GpuDetection =
    requested === 'cpu' || (requested === 'auto' && !env.gpu.required)
      ? { nvidiaSmi: false, gpus: [], links: [], notes: [] }
      : await detectGpus(nvidiaSmiRunner({ env: ctx.env, signal: ctx.signal }));
  const choice = chooseGpuLayout(detection, requested);
  if (!choice.ok) {
    throw new StackctlError('E_PREFLIGHT', choice.reason, {
      hint: `run: stackctl gpu configure ${envName} ${choice.workingMode}`,
    });
  }
  const { layout } = choice;
  if (!Object.hasOwn(stack.file.gpuProfiles, layout.profile)) {
    throw new StackctlError('E_SCHEMA', `the schema has no "${layout.profile}" GPU profile`, {
      hint: `add gpuProfiles.${layout.profile} to the schema, or choose another mode`,
    });
  }
  const record = {
    environment: envName,
    profile: layout.profile,
    devices: [...layout.devices],
    tensorParallelSize: layout.tensorParallelSize,
    variables: { ...layout.variables },
  };
  const path = flags.dryRun === true ? undefined : await writeGpuChoice(stack.root, record);
  const notes = [...detection.notes, ...layout.notes];
  if (env.gpu.required && layout.profile === 'cpu') {
    notes.push(`${envName} expects GPUs (${env.gpu.profile}); with the cpu profile vLLM gets no GPU`);
  }
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

// The host's GPUs, as a workflow: detected through nvidia-smi, their topology read (from the host
// or a saved output), and an environment's layout chosen and recorded.
import { readRegularFile } from '../effects/files.js';
import { nvidiaSmiRunner } from '../effects/nvidia-smi.js';
import { writeGpuChoice, type GpuChoice } from '../effects/state.js';
import { StackctlError } from '../errors.js';
import { detectGpus, nvidiaSmiError, TOPOLOGY_ARGS, type GpuDetection } from '../host/gpus.js';
import type { LoadedStack } from '../model/stack.js';
import { chooseGpuLayout, type GpuLayout, type GpuMode } from '../plan/gpu-layout.js';
import { textEncodingProblem } from '../text.js';

export interface GpuIo {
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
}

/** Asks nvidia-smi what GPUs this host has (and how they are linked). */
export function detectHostGpus(io: GpuIo): Promise<GpuDetection> {
  return detectGpus(nvidiaSmiRunner(io));
}

export interface GpuConfigureRequest {
  readonly envName: string;
  readonly mode: GpuMode;
  /** Decide and report, record nothing. */
  readonly dryRun: boolean;
}

/**
 * Chooses the environment's GPU layout for this host (nvidia-smi asked only when the mode needs it)
 * and records it, for generate, preflight and start to use.
 */
export async function configureGpu(
  stack: LoadedStack,
  request: GpuConfigureRequest,
  io: GpuIo,
): Promise<{ record: GpuChoice; layout: GpuLayout; notes: string[]; path: string | undefined }> {
  const { envName, mode } = request;
  const env = stack.file.environments[envName];
  if (!env) throw new Error(`no environment ${envName}`);
  const detection: GpuDetection =
    mode === 'cpu' || (mode === 'auto' && !env.gpu.required)
      ? { nvidiaSmi: false, gpus: [], links: [], notes: [] }
      : await detectHostGpus(io);
  const choice = chooseGpuLayout(detection, mode);
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
  const record: GpuChoice = {
    environment: envName,
    profile: layout.profile,
    devices: [...layout.devices],
    tensorParallelSize: layout.tensorParallelSize,
    variables: { ...layout.variables },
  };
  const path = request.dryRun ? undefined : await writeGpuChoice(stack.root, record);
  const notes = [...detection.notes, ...layout.notes];
  if (env.gpu.required && layout.profile === 'cpu') {
    notes.push(`${envName} expects GPUs (${env.gpu.profile}); with the cpu profile vLLM gets no GPU`);
  }
  return { record, layout, notes, path };
}

export async function readTopologyText(input: string | undefined, io: GpuIo): Promise<string> {
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
  const result = await nvidiaSmiRunner(io)(TOPOLOGY_ARGS);
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

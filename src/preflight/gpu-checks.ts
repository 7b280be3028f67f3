// GPU checks: the devices the environment's layout needs are there, the driver answers, and each
// card has the memory the GPU services reserve.
import type { EnvironmentModel } from '../model/environment.js';
import { pass, type Check, type PreflightInput } from './check.js';

export function gpuChecks({ model, facts, layout, gpuMode }: PreflightInput): Check[] {
  const required = model.definition.gpu.required;
  if (gpuMode === 'cpu' || facts.gpus === undefined) {
    if (!required) return [pass('gpu', `${model.name} needs no GPU`)];
    return [
      {
        id: 'gpu.profile',
        status: 'warn',
        message: `${model.name} expects GPUs (${model.definition.gpu.profile}) but runs with the cpu profile: vLLM gets no GPU`,
        fix: 'use a host with NVIDIA GPUs, or accept CPU-only inference',
      },
    ];
  }
  const gpus = facts.gpus;
  if (!gpus.ok) {
    return [
      { id: 'gpu.driver', status: 'fail', message: `nvidia-smi failed: ${gpus.message}`, fix: gpus.fix },
    ];
  }
  const checks: Check[] = [];
  const { detection } = gpus;
  if (!detection.nvidiaSmi) {
    checks.push({
      id: 'gpu.driver',
      status: 'fail',
      message: 'nvidia-smi is not on PATH, so no NVIDIA GPU can be used',
      fix: 'install the NVIDIA driver, or run with --gpu cpu',
    });
  } else {
    const driver = detection.gpus[0]?.driverVersion ?? 'unknown';
    checks.push(pass('gpu.driver', `NVIDIA driver ${driver}`));
  }
  if (layout && !layout.ok) {
    checks.push({ id: 'gpu.count', status: 'fail', message: layout.reason, fix: layout.fix });
    return checks;
  }
  if (!layout) return checks;
  const chosen = layout.layout;
  const names = chosen.devices.map(
    (index) => detection.gpus.find((gpu) => gpu.index === index)?.name ?? `GPU${index}`,
  );
  checks.push(
    pass(
      'gpu.count',
      chosen.devices.length === 0
        ? 'cpu profile: no GPU reserved'
        : `${chosen.profile} profile on GPU ${chosen.devices.join(', ')} (${[...new Set(names)].join(', ')}), tensor parallel ${chosen.tensorParallelSize}`,
    ),
  );
  if (layout.fallbackFrom) {
    checks.push({
      id: 'gpu.fallback',
      status: 'warn',
      message: `${model.name} prefers the ${layout.fallbackFrom.mode} GPU profile, but ${layout.fallbackFrom.reason}: using its fallback, ${chosen.profile}`,
      fix: `run with more GPUs for ${layout.fallbackFrom.mode}, or record this choice: stackctl gpu configure ${model.name} ${chosen.profile}`,
    });
  }
  if (chosen.profile === 'multi') {
    const nvNote = chosen.notes.find((note) => note.startsWith('no NVLink'));
    checks.push(
      nvNote === undefined
        ? pass('gpu.nvlink', `GPU ${chosen.devices.join(', ')} are joined by NVLink`)
        : {
            id: 'gpu.nvlink',
            status: 'warn',
            message: nvNote,
            fix: 'fit an NVLink bridge, or use --gpu single',
          },
    );
  }
  checks.push(...gpuMemoryChecks(model, detection.gpus, gpus.freeMiB, chosen.devices));
  if (chosen.devices.length > 0) {
    const runtimes = facts.docker.daemon.reachable ? facts.docker.daemon.runtimes : [];
    checks.push(
      runtimes.includes('nvidia') || facts.nvidiaCdi
        ? pass(
            'gpu.toolkit',
            runtimes.includes('nvidia')
              ? 'Docker has the nvidia runtime'
              : 'NVIDIA CDI devices are configured',
          )
        : {
            id: 'gpu.toolkit',
            status: 'fail',
            message: `Docker cannot give containers GPUs: no nvidia runtime (runtimes: ${runtimes.join(', ') || 'unknown'}) and no NVIDIA CDI spec`,
            fix: 'install nvidia-container-toolkit, run `sudo nvidia-ctk runtime configure --runtime=docker`, restart Docker',
          },
    );
  }
  return checks;
}

function gpuMemoryChecks(
  model: EnvironmentModel,
  gpus: readonly { index: number; memoryTotalMiB: number | null }[],
  freeMiB: ReadonlyMap<number, number>,
  devices: readonly number[],
): Check[] {
  const utilization = Number(model.values.get('VLLM_GPU_MEMORY_UTILIZATION') ?? NaN);
  if (!Number.isFinite(utilization) || devices.length === 0) return [];
  const checks: Check[] = [];
  for (const index of devices) {
    const total = gpus.find((gpu) => gpu.index === index)?.memoryTotalMiB ?? null;
    const free = freeMiB.get(index);
    if (total === null || free === undefined) continue;
    const needed = Math.ceil(total * utilization);
    checks.push(
      free >= needed
        ? pass(
            `gpu.memory.${index}`,
            `GPU${index}: ${free} MiB free of ${total} MiB; vLLM at ${utilization} needs ${needed} MiB`,
          )
        : {
            id: `gpu.memory.${index}`,
            status: 'fail',
            message: `GPU${index} has ${free} MiB free; vLLM at ${utilization} needs ${needed} MiB of ${total} MiB`,
            fix: 'stop what holds GPU memory (see nvidia-smi), or lower VLLM_GPU_MEMORY_UTILIZATION for this environment',
          },
    );
  }
  return checks;
}

import type Docker from 'dockerode';
import type { GpuFacts, HostFacts, PortProbe } from '../../host/facts.js';
import { detectGpus } from '../../host/gpus.js';
import { classifyNvidiaSmiFailure } from '../../host/nvidia-smi/failure.js';
import { parseQueryCsv } from '../../host/nvidia-smi/query.js';
import { publishedHostPorts, type EnvironmentModel } from '../../model/environment.js';
import { isStackctlError } from '../../errors.js';
import { dockerClient } from '../docker.js';
import { nvidiaSmiRunner, type NvidiaSmiRunner } from '../nvidia-smi.js';
import { probeDiskUsage, probeDocker, probeDockerNetworks, probeProjectPorts } from './docker-facts.js';
import { probeDisk, probeHostNetworks, probeMaxMapCount, probeMemory, probeNvidiaCdi } from './host.js';
import { portHolder, tryBind } from './ports.js';

export interface ProbeOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly needGpu: boolean;
  readonly signal?: AbortSignal;
}

/** Gathers everything preflight needs about the host, probing in parallel. */
export async function gatherHostFacts(model: EnvironmentModel, options: ProbeOptions): Promise<HostFacts> {
  const docker = dockerClient(options.env);
  const dockerFacts = await probeDocker(docker, options.env);
  const reachable = dockerFacts.daemon.reachable;
  const dataRoot = dockerFacts.daemon.reachable ? dockerFacts.daemon.dataRoot : '/var/lib/docker';

  const [gpus, memory, disk, ports, dockerNetworks, hostNetworks, diskUsage, maxMapCount, nvidiaCdi] =
    await Promise.all([
      options.needGpu ? probeGpus(nvidiaSmiRunner({ env: options.env, signal: options.signal })) : undefined,
      probeMemory(),
      probeDisk(dataRoot),
      probePorts(model, reachable ? docker : undefined),
      reachable ? probeDockerNetworks(docker).catch(() => undefined) : undefined,
      probeHostNetworks(),
      reachable ? probeDiskUsage(options.env) : undefined,
      probeMaxMapCount(),
      probeNvidiaCdi(),
    ]);
  return {
    docker: dockerFacts,
    gpus,
    memory,
    disk,
    ports,
    dockerNetworks,
    hostNetworks,
    diskUsage,
    maxMapCount,
    nvidiaCdi,
  };
}

async function probeGpus(run: NvidiaSmiRunner): Promise<GpuFacts> {
  try {
    const detection = await detectGpus(run);
    const freeMiB = new Map<number, number>();
    if (detection.gpus.length > 0) {
      const free = await run(['--query-gpu=index,memory.free', '--format=csv,noheader,nounits']);
      if (free.found && free.exitCode === 0) {
        try {
          for (const row of parseQueryCsv(free.output, ['index', 'memory.free'])) {
            const value = Number(row['memory.free']);
            if (row['memory.free'] != null && Number.isFinite(value))
              freeMiB.set(Number(row['index']), value);
          }
        } catch {
          // Free memory is a refinement; without it the memory check is skipped.
        }
      }
    }
    return { ok: true, detection, freeMiB };
  } catch (error) {
    if (isStackctlError(error)) {
      const failure = classifyNvidiaSmiFailure(error.message.replace(/^nvidia-smi failed: /, ''));
      return { ok: false, message: failure.message, fix: error.hint ?? failure.fix };
    }
    throw error;
  }
}

async function probePorts(model: EnvironmentModel, docker: Docker | undefined): Promise<PortProbe[]> {
  const own = docker
    ? await probeProjectPorts(docker, model.project).catch(() => new Set<number>())
    : new Set<number>();
  const wanted = publishedHostPorts(model);
  return Promise.all(
    wanted.map(async (port): Promise<PortProbe> => {
      const result = await tryBind(port.hostIp, port.port, port.protocol);
      if (result.free) return { ...port, status: 'free' };
      if (result.code === 'EADDRINUSE' && own.has(port.port)) return { ...port, status: 'own' };
      if (result.code === 'EADDRINUSE')
        return { ...port, status: 'in-use', holder: await portHolder(port.port, port.protocol) };
      return { ...port, status: 'error', error: `${result.code}: ${result.message}` };
    }),
  );
}

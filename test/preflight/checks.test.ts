import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostFacts, PortProbe } from '../../src/host/facts.js';
import { diskUsageFromApi, type DiskUsageRow, type SystemDf } from '../../src/host/disk-usage.js';
import { parseTopology } from '../../src/host/nvidia-smi/topology.js';
import { resolveEnvironment } from '../../src/model/environment.js';
import { chooseGpuLayout } from '../../src/plan/gpu-layout.js';
import { compareVersions, parseSize, preflightChecks, type Check } from '../../src/preflight/checks.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { HOST_FIXTURES, SHIPPED_SCHEMA } from '../helpers/paths.js';

const file = (await validateStackText(readFileSync(SHIPPED_SCHEMA, 'utf8'), { fileName: 'schema' }))
  .file as StackFile;
const fixture = (...parts: string[]): string => readFileSync(join(HOST_FIXTURES, ...parts), 'utf8');

function facts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    docker: {
      cli: { found: true, version: '26.1.5' },
      host: 'unix:///var/run/docker.sock',
      compose: { flavour: 'v2', version: '2.26.1' },
      daemon: {
        reachable: true,
        serverVersion: '26.1.5',
        apiVersion: '1.45',
        dataRoot: '/var/lib/docker',
        runtimes: ['io.containerd.runc.v2', 'nvidia', 'runc'],
        defaultRuntime: 'runc',
        memTotalBytes: 64e9,
      },
    },
    gpus: undefined,
    memory: { totalBytes: 64e9, availableBytes: 48e9 },
    disk: { path: '/var/lib/docker', freeBytes: 500e9 },
    ports: [],
    dockerNetworks: [],
    hostNetworks: [],
    diskUsage: [],
    maxMapCount: 262144,
    nvidiaCdi: false,
    hostPaths: [],
    initScripts: [],
    ...overrides,
  };
}

const byId = (checks: Check[], id: string): Check | undefined => checks.find((check) => check.id === id);
const failed = (checks: Check[]): string[] => checks.filter((c) => c.status === 'fail').map((c) => c.id);

describe('preflightChecks', () => {
  it('passes a ready host for the testing environment', () => {
    const checks = preflightChecks({
      model: resolveEnvironment(file, 'testing'),
      facts: facts(),
      gpuMode: 'cpu',
      layout: undefined,
    });
    expect(failed(checks)).toEqual([]);
    expect(byId(checks, 'gpu')?.message).toBe('testing needs no GPU');
  });

  it('fails an unreachable daemon and a missing compose, each with a fix', () => {
    const checks = preflightChecks({
      model: resolveEnvironment(file, 'testing'),
      facts: facts({
        docker: {
          cli: { found: true, version: '26.1.5' },
          host: 'unix:///nope.sock',
          compose: null,
          daemon: { reachable: false, error: 'connect ENOENT /nope.sock' },
        },
      }),
      gpuMode: 'cpu',
      layout: undefined,
    });
    expect(byId(checks, 'docker.daemon')).toMatchObject({
      status: 'fail',
      message: /unix:\/\/\/nope\.sock: connect ENOENT/,
    });
    expect(byId(checks, 'docker.compose')).toMatchObject({ status: 'fail', fix: /compose/ });
  });

  it('warns about compose v1 and an API without start_interval', () => {
    const base = facts();
    const checks = preflightChecks({
      model: resolveEnvironment(file, 'testing'),
      facts: facts({
        docker: {
          ...base.docker,
          compose: { flavour: 'v1', version: '1.29.2' },
          daemon: {
            ...(base.docker.daemon as Extract<HostFacts['docker']['daemon'], { reachable: true }>),
            apiVersion: '1.43',
          },
        },
      }),
      gpuMode: 'cpu',
      layout: undefined,
    });
    expect(byId(checks, 'docker.compose')?.status).toBe('warn');
    expect(byId(checks, 'docker.healthcheck')).toMatchObject({
      status: 'warn',
      fix: 'upgrade Docker Engine to 25.0 or newer',
    });
  });

  it('checks GPUs, NVLink, free GPU memory and the toolkit for development', () => {
    const topology = parseTopology(fixture('nvidia-smi', 'topo-2x3090-phb-tabs-01.txt'));
    const detection = {
      nvidiaSmi: true,
      gpus: topology.gpus.map((gpu) => ({
        ...gpu,
        name: 'NVIDIA GeForce RTX 3090',
        memoryTotalMiB: 24576,
        driverVersion: '560.35.03',
      })),
      links: topology.links,
      notes: [],
    };
    const layout = chooseGpuLayout(detection, 'multi');
    if (!layout.ok) throw new Error('expected a layout');
    const model = resolveEnvironment(file, 'development', {
      profile: 'multi',
      variables: layout.layout.variables,
    });
    const base = facts();
    const checks = preflightChecks({
      model,
      facts: facts({
        gpus: {
          ok: true,
          detection,
          freeMiB: new Map([
            [0, 24000],
            [1, 12000],
          ]),
        },
        docker: {
          ...base.docker,
          daemon: {
            ...(base.docker.daemon as Extract<HostFacts['docker']['daemon'], { reachable: true }>),
            runtimes: ['runc'],
          },
        },
      }),
      gpuMode: 'multi',
      layout,
    });
    expect(byId(checks, 'gpu.nvlink')).toMatchObject({
      status: 'warn',
      message: /no NVLink between GPUs 0, 1/,
    });
    expect(byId(checks, 'gpu.memory.0')?.status).toBe('pass');
    // 0.8 of 24576 MiB is 19661 MiB; GPU1 has 12000 MiB free.
    expect(byId(checks, 'gpu.memory.1')).toMatchObject({
      status: 'fail',
      message: /GPU1 has 12000 MiB free; vLLM at 0.8 needs 19661 MiB/,
    });
    expect(byId(checks, 'gpu.toolkit')).toMatchObject({
      status: 'fail',
      fix: /nvidia-ctk runtime configure/,
    });
    expect(byId(checks, 'vllm.shm')?.status).toBe('pass');
  });

  it('fails when the profile needs more GPUs, naming the --gpu choice that works', () => {
    const topology = parseTopology(fixture('nvidia-smi', 'topo-1xp4-single-gpu-numa-na-tabs-01.txt'));
    const detection = {
      nvidiaSmi: true,
      gpus: [
        {
          index: 0,
          name: 'Tesla P4',
          memoryTotalMiB: 7611,
          driverVersion: '418',
          cpuAffinity: null,
          numaAffinity: null,
        },
      ],
      links: topology.links,
      notes: [],
    };
    const layout = chooseGpuLayout(detection, 'multi');
    const checks = preflightChecks({
      model: resolveEnvironment(file, 'production'),
      facts: facts({ gpus: { ok: true, detection, freeMiB: new Map() } }),
      gpuMode: 'multi',
      layout,
    });
    expect(byId(checks, 'gpu.count')).toMatchObject({
      status: 'fail',
      fix: 'use --gpu single (or --gpu auto)',
    });
  });

  it('reports the driver failure in its own words', () => {
    const checks = preflightChecks({
      model: resolveEnvironment(file, 'staging'),
      facts: facts({
        gpus: {
          ok: false,
          message: 'Failed to initialize NVML: Driver/library version mismatch',
          fix: 'reboot',
        },
      }),
      gpuMode: 'multi',
      layout: undefined,
    });
    expect(byId(checks, 'gpu.driver')).toMatchObject({
      status: 'fail',
      message: /Driver\/library version mismatch/,
      fix: 'reboot',
    });
  });

  it('fails vLLM tensor parallelism without shared memory', () => {
    const vllm = file.services['vllm'];
    if (!vllm) throw new Error('no vllm');
    const withoutIpc = { ...vllm };
    delete withoutIpc.ipc;
    const changed: StackFile = { ...file, services: { ...file.services, vllm: withoutIpc } };
    const model = resolveEnvironment(changed, 'development', { profile: 'multi', variables: {} });
    const checks = preflightChecks({ model, facts: facts(), gpuMode: 'cpu', layout: undefined });
    expect(byId(checks, 'vllm.shm')).toMatchObject({
      status: 'fail',
      fix: 'set ipc: host (or shm_size: 16g) on services.vllm',
    });
  });

  it('checks memory, disk, reclaimable space and vm.max_map_count against what the environment needs', () => {
    const checks = preflightChecks({
      model: resolveEnvironment(file, 'monitoring'),
      facts: facts({
        memory: { totalBytes: 16e9, availableBytes: 10e9 },
        disk: { path: '/var/lib/docker', freeBytes: 5e9 },
        diskUsage: diskUsageFromApi({
          LayersSize: 3.225e9,
          Images: [{ Size: 3.225e9, SharedSize: 0, Containers: 0 }],
        } satisfies SystemDf),
        maxMapCount: 65530,
      }),
      gpuMode: 'cpu',
      layout: undefined,
    });
    expect(byId(checks, 'host.memory')).toMatchObject({
      status: 'fail',
      message: '10.0 GB of memory available; monitoring needs 16 GB',
    });
    expect(byId(checks, 'host.disk')?.status).toBe('fail');
    expect(byId(checks, 'docker.reclaimable')).toMatchObject({ status: 'warn', fix: /stackctl clean/ });
    expect(byId(checks, 'host.max_map_count')).toMatchObject({
      status: 'fail',
      fix: /vm\.max_map_count=262144/,
    });
  });

  it('names the holder of a busy port and the variable that moves it; own ports are no conflict', () => {
    const checks = preflightChecks({
      model: resolveEnvironment(file, 'testing'),
      facts: facts({
        ports: [
          {
            service: 'allure-results',
            hostIp: '127.0.0.1',
            port: 5050,
            protocol: 'tcp',
            status: 'in-use',
            holder: 'python3 (pid 4242)',
          },
          { service: 'allure-report', hostIp: '127.0.0.1', port: 8080, protocol: 'tcp', status: 'own' },
        ],
      }),
      gpuMode: 'cpu',
      layout: undefined,
    });
    expect(byId(checks, 'port.5050')).toEqual({
      id: 'port.5050',
      status: 'fail',
      message: 'port 127.0.0.1:5050/tcp for allure-results is in use by python3 (pid 4242)',
      fix: 'stop what holds it, or set ALLURE_RESULTS_PORT to a free port under environments.testing.variables',
    });
    expect(failed(checks)).toEqual(['port.5050']);
  });

  it('names the container behind a taken port, its environment, and the command that frees it', () => {
    const taken = (holderContainer: PortProbe['holderContainer']): Check | undefined =>
      byId(
        preflightChecks({
          model: resolveEnvironment(file, 'testing'),
          facts: facts({
            ports: [
              {
                service: 'allure-results',
                hostIp: '127.0.0.1',
                port: 5050,
                protocol: 'tcp',
                status: 'in-use',
                ...(holderContainer ? { holderContainer } : {}),
              },
            ],
          }),
          gpuMode: 'cpu',
          layout: undefined,
        }),
        'port.5050',
      );
    expect(
      taken({
        name: 'multimodal-development-allure-results-1',
        composeProject: 'multimodal-development',
        stackctlProject: 'multimodal',
        environment: 'development',
      }),
    ).toMatchObject({
      message:
        'port 127.0.0.1:5050/tcp for allure-results is in use by container multimodal-development-allure-results-1 of development, another environment of this project',
      fix: expect.stringMatching(
        /^stop it \(stackctl stop development\), or set ALLURE_RESULTS_PORT/,
      ) as string,
    });
    expect(
      taken({ name: 'web-1', composeProject: 'shop', stackctlProject: undefined, environment: undefined }),
    ).toMatchObject({
      message:
        'port 127.0.0.1:5050/tcp for allure-results is in use by container web-1 (compose project shop)',
      fix: expect.stringMatching(/^stop it \(docker compose -p shop stop\)/) as string,
    });
  });

  it('warns about reclaimable space only when the amount matters', () => {
    const reclaimable = (reclaimableBytes: number, totalBytes: number): Check | undefined =>
      byId(
        preflightChecks({
          model: resolveEnvironment(file, 'testing'),
          facts: facts({
            diskUsage: [
              {
                type: 'Images',
                total: 1,
                active: 0,
                sizeBytes: totalBytes,
                reclaimableBytes,
              } satisfies DiskUsageRow,
            ],
          }),
          gpuMode: 'cpu',
          layout: undefined,
        }),
        'docker.reclaimable',
      );
    expect(reclaimable(2e6, 4e6)).toMatchObject({
      status: 'pass',
      message: "2 MB (50%) of Docker's storage is reclaimable",
    });
    expect(reclaimable(6e9, 10e9)).toMatchObject({
      status: 'warn',
      message: "6.0 GB (60%) of Docker's storage is reclaimable",
    });
    expect(reclaimable(2e9, 100e9)?.status).toBe('pass');
  });

  it("checks a remote daemon's memory by its total, and says its free memory is not known", () => {
    const remote = (totalBytes: number): Check | undefined =>
      byId(
        preflightChecks({
          model: resolveEnvironment(file, 'monitoring'),
          facts: facts({ memory: { totalBytes, availableBytes: undefined } }),
          gpuMode: 'cpu',
          layout: undefined,
        }),
        'host.memory',
      );
    expect(remote(64e9)).toMatchObject({
      status: 'warn',
      message:
        "the daemon's host has 64.0 GB in all (its free memory is not known from here); monitoring needs 16 GB",
    });
    expect(remote(8e9)?.status).toBe('fail');
  });

  it('fails a missing build context, mounted file or generated config file, with the fix; a created cache folder passes', () => {
    const checks = preflightChecks({
      model: resolveEnvironment(file, 'development'),
      facts: facts({
        hostPaths: [
          {
            service: 'ai-agents',
            kind: 'build',
            path: './services/ai-agents',
            exists: false,
            cache: false,
          },
          {
            service: 'ai-workers',
            kind: 'build',
            path: './services/ai-workers',
            image: 'registry.local/ai-workers:1',
            exists: false,
            cache: false,
            imagePresent: true,
          },
          {
            service: 'nginx',
            kind: 'bind',
            path: './configs/nginx.conf',
            target: '/etc/nginx/nginx.conf',
            exists: false,
            cache: false,
          },
          { service: 'vllm', kind: 'bind', path: './models', target: '/models', exists: false, cache: true },
          {
            service: 'litellm',
            kind: 'config',
            path: './configs/development/litellm/config.yaml',
            target: '/app/config.yaml',
            exists: false,
            cache: false,
          },
        ],
      }),
      gpuMode: 'cpu',
      layout: undefined,
    });
    const paths = checks.filter((check) => check.id.startsWith('paths.'));
    expect(paths).toEqual([
      {
        id: 'paths.ai-agents',
        status: 'fail',
        message: './services/ai-agents: build context of ai-agents is missing',
        fix: "clone the service's code there, or give ai-agents an image in compose/local.override.yml (image: NAME, and build: !reset null)",
      },
      {
        id: 'paths.ai-workers',
        status: 'pass',
        message:
          './services/ai-workers: build context of ai-workers is missing; compose uses registry.local/ai-workers:1, present on this engine',
        fix: '',
      },
      {
        id: 'paths.nginx',
        status: 'fail',
        message:
          './configs/nginx.conf (mounted into nginx at /etc/nginx/nginx.conf) does not exist: Docker would mount an empty folder in its place',
        fix: 'create ./configs/nginx.conf with the configuration nginx expects, or drop the mount in compose/local.override.yml',
      },
      {
        id: 'paths.vllm',
        status: 'pass',
        message: './models (a cache folder of vllm) does not exist yet: start creates it',
        fix: '',
      },
      {
        id: 'paths.litellm',
        status: 'fail',
        message:
          './configs/development/litellm/config.yaml: the litellm config file stackctl generates for development is missing',
        fix: 'run `stackctl generate development`',
      },
    ]);
  });

  it('fails subnets that overlap another Docker network or a host route, but not its own', () => {
    const checks = preflightChecks({
      model: resolveEnvironment(file, 'staging'),
      facts: facts({
        dockerNetworks: [
          {
            id: 'aaaaaaaaaaaa1111',
            name: 'multimodal-staging_core-net',
            subnets: ['10.30.16.0/24'],
            project: 'multimodal-staging',
          },
          { id: 'bbbbbbbbbbbb2222', name: 'vpn-bridge', subnets: ['10.30.17.0/24'], project: undefined },
        ],
        hostNetworks: [
          { cidr: '10.30.18.0/23', via: 'route via wg0', iface: 'wg0' },
          // The bridge of this environment's own core-net: not a clash.
          { cidr: '10.30.16.0/24', via: 'route via br-aaaaaaaaaaaa', iface: 'br-aaaaaaaaaaaa' },
        ],
      }),
      gpuMode: 'cpu',
      layout: undefined,
    });
    expect(failed(checks).sort()).toEqual(['network.ai-net', 'network.inference-net', 'network.ui-net']);
    expect(byId(checks, 'network.inference-net')?.message).toBe(
      'inference-net (10.30.17.0/24) overlaps Docker network vpn-bridge (10.30.17.0/24)',
    );
    expect(byId(checks, 'network.ai-net')?.message).toMatch(/overlaps 10\.30\.18\.0\/23 \(route via wg0\)/);
  });
});

describe('helpers', () => {
  it('compares API versions numerically', () => {
    expect(compareVersions('1.45', '1.44')).toBeGreaterThan(0);
    expect(compareVersions('1.9', '1.44')).toBeLessThan(0);
    expect(compareVersions('1.44', '1.44')).toBe(0);
  });

  it('reads Docker sizes', () => {
    expect(parseSize('16g')).toBe(16 * 1024 ** 3);
    expect(parseSize('512mb')).toBe(512 * 1024 ** 2);
    expect(parseSize(1024)).toBe(1024);
    expect(parseSize('lots')).toBeUndefined();
  });
});

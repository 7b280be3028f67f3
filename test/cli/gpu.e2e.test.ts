import { mkdtemp, mkdir, copyFile, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fakeNvidiaSmiEnv, PATH_WITHOUT_NVIDIA_SMI } from '../helpers/fake-nvidia-smi.js';
import { HOST_FIXTURES, SHIPPED_SCHEMA } from '../helpers/paths.js';

const NODE_DIR = dirname(process.execPath);
const noSmi = { PATH: `${NODE_DIR}:${PATH_WITHOUT_NVIDIA_SMI}` };

let project: string;
beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'stackctl-gpu-'));
  await mkdir(join(project, 'schemas'));
  await copyFile(SHIPPED_SCHEMA, join(project, 'schemas', 'compose-schema.yaml'));
});
afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

describe('stackctl gpu detect', () => {
  it('joins the GPU query with the topology', async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt',
      topo: 'topo-4xh100-nv18-8nic-phb-01.txt',
    });
    const result = await runCli(['gpu', 'detect', '--json'], { env });
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as {
      gpus: unknown[];
      links: { type: string; count?: number }[];
    };
    expect(report.gpus[0]).toEqual({
      index: 0,
      name: 'NVIDIA A100-SXM4-80GB',
      memoryTotalMiB: 81920,
      driverVersion: '580.105.08',
      cpuAffinity: '0-79',
      numaAffinity: '0',
    });
    expect(report.gpus).toHaveLength(4);
    expect(report.links).toHaveLength(6);
    expect(report.links.every((link) => link.type === 'NV' && link.count === 18)).toBe(true);
  });

  it('reads a single H100 exactly as captured on a lent GPU machine (driver 580, GPU NUMA ID column)', async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-noheader-nounits-1xh100-driver580-01.txt',
      topo: 'topo-1xh100-gpu-numa-id-column-ansi-tabs-01.txt',
    });
    const result = await runCli(['gpu', 'detect', '--json'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      gpus: [
        {
          index: 0,
          name: 'NVIDIA H100 80GB HBM3',
          memoryTotalMiB: 81559,
          driverVersion: '580.159.04',
          cpuAffinity: '0-15',
          numaAffinity: '0',
        },
      ],
      links: [],
    });
  });

  it('prints {"gpus": [], "links": []} and exits 0 without nvidia-smi', async () => {
    const result = await runCli(['gpu', 'detect', '--json'], { env: noSmi });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ gpus: [], links: [] });
  });

  it.each([
    ['error-smi-failed-communicate-driver-docker-01.txt', 9, /couldn't communicate with the NVIDIA driver/],
    ['error-nvml-driver-library-mismatch-01.txt', 18, /Driver\/library version mismatch/],
    ['error-no-devices-were-found-01.txt', 6, /No devices were found/],
  ])("exits 3 with the driver's own message for %s", async (fixture, code, message) => {
    const env = await fakeNvidiaSmiEnv({ query: fixture, queryExit: code });
    const result = await runCli(['gpu', 'detect'], { env });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/hint: /);
  });

  it('still lists GPUs when the driver has no topo command, and says why links are missing', async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-header-gb10-memory-na-01.txt',
      topo: 'error-topo-m-windows-591-option-missing-value-01.txt',
      topoExit: 255,
    });
    const result = await runCli(['gpu', 'detect'], { env });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/GPU0 +NVIDIA GB10 +n\/a/);
    expect(result.stdout).toContain('note: nvidia-smi topo -m failed');
  });
});

describe('stackctl gpu topology', () => {
  it('parses a saved output from a file', async () => {
    const file = join(HOST_FIXTURES, 'nvidia-smi', 'topo-8xa100-nv12-17nic-bond-01.txt');
    const result = await runCli(['gpu', 'topology', '--input', file, '--json']);
    expect(result.exitCode).toBe(0);
    const topology = JSON.parse(result.stdout) as { gpus: unknown[]; nics: string[]; links: unknown[] };
    expect(topology.gpus).toHaveLength(8);
    expect(topology.nics.at(-1)).toBe('mlx5_bond_0');
    expect(topology.links).toHaveLength(28);
  });

  it('parses stdin with -i -', async () => {
    const input = await readFile(join(HOST_FIXTURES, 'nvidia-smi', 'topo-2x3090-nv4-01.txt'), 'utf8');
    const result = await runCli(['gpu', 'topology', '-i', '-'], { input });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^GPU0 +X +NV4 +0-47 +0$/m);
    expect(result.stdout).toContain('NVLink: GPU0-GPU1 (4 links)');
  });

  it('runs nvidia-smi topo -m when no input is given', async () => {
    const env = await fakeNvidiaSmiEnv({ topo: 'topo-2x3090-phb-tabs-01.txt' });
    const result = await runCli(['gpu', 'topology', '--json'], { env });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ links: [{ a: 0, b: 1, type: 'PHB' }] });
  });

  it('exits 2 on input that is not a topology', async () => {
    const file = join(HOST_FIXTURES, 'nvidia-smi', 'amd-rocm-smi-showtoponuma-8gpu-01.txt');
    const result = await runCli(['gpu', 'topology', '-i', file]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('rocm-smi');
  });
});

describe('stackctl gpu configure', () => {
  it("records multi with tensor parallel 2 on the seeds' NVLink pair", async () => {
    // The A100 query lists four GPUs; the 3xA6000 topology links only GPU0 and GPU1.
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt',
      topo: 'topo-2x3090-nv4-01.txt',
    });
    const result = await runCli(['gpu', 'configure', 'development', '--json'], { env, cwd: project });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      profile: 'multi',
      devices: [0, 1],
      tensorParallelSize: 2,
      nvlinked: true,
      recorded: join('.stackctl', 'gpu-development.json'),
    });
    const recorded = JSON.parse(
      await readFile(join(project, '.stackctl', 'gpu-development.json'), 'utf8'),
    ) as {
      variables: Record<string, string>;
    };
    expect(recorded.variables).toEqual({
      CUDA_VISIBLE_DEVICES: '0,1',
      NVIDIA_VISIBLE_DEVICES: '0,1',
      VLLM_TENSOR_PARALLEL_SIZE: '2',
      VLLM_PIPELINE_PARALLEL_SIZE: '1',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      GPU_COUNT: '2',
    });
  });

  it('picks single when the GPUs share no NVLink, and warns when multi is forced', async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt',
      topo: 'topo-4xa10-all-sys-2nic-vm-01.txt',
    });
    const auto = await runCli(['gpu', 'configure', 'staging', '--json', '--dry-run'], { env, cwd: project });
    expect(JSON.parse(auto.stdout)).toMatchObject({ profile: 'single', devices: [0], recorded: null });
    const multi = await runCli(['gpu', 'configure', 'staging', 'multi'], { env, cwd: project });
    expect(multi.exitCode).toBe(0);
    expect(multi.stdout).toContain('VLLM_TENSOR_PARALLEL_SIZE=4');
    expect(multi.stdout).toMatch(/note: no NVLink between GPUs 0, 1, 2, 3/);
  });

  it('exits 3 naming the mode that works when multi is asked of a one-GPU host', async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-header-gb10-memory-na-01.txt',
      topo: 'topo-1xh100-mig-enabled-ansi-tabs-01.txt',
    });
    const result = await runCli(['gpu', 'configure', 'production', 'multi'], { env, cwd: project });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('needs two GPUs, and this host has 1');
    expect(result.stderr).toContain('stackctl gpu configure production single');
  });

  it('chooses cpu on a host without GPUs, saying what that costs', async () => {
    const result = await runCli(['gpu', 'configure', 'development'], { env: noSmi, cwd: project });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('cpu GPU profile (no GPU reservation)');
    expect(result.stdout).toContain('NVIDIA_VISIBLE_DEVICES=void');
    expect(result.stdout).toContain('development expects GPUs');
  });

  it('rejects an unknown mode and an unknown environment with exit 2', async () => {
    expect((await runCli(['gpu', 'configure', 'development', 'dual'], { cwd: project })).exitCode).toBe(2);
    const unknown = await runCli(['gpu', 'configure', 'develop'], { cwd: project, env: noSmi });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('did you mean "development"?');
  });
});

// --gpu on every command path (issue 26): start with and without preflight, generate, both exports
// and a swarm start use the layout asked for, and each prints it in one line.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { fakeNvidiaSmiEnv } from '../helpers/fake-nvidia-smi.js';
import { shippedProject, type TempProject } from '../helpers/project.js';

let project: TempProject;
beforeAll(async () => {
  project = await shippedProject();
});
afterAll(() => project.remove());

const envFile = async (env: string): Promise<string> => readFile(join(project.root, `.env.${env}`), 'utf8');

interface ComposeService {
  deploy?: {
    replicas?: number;
    resources?: { reservations?: { devices?: { device_ids?: string[]; count?: number }[] } };
  };
}

interface DryRun {
  create: { command: string[] }[];
}
const composeFiles = (plan: DryRun): string[] =>
  (plan.create[0]?.command ?? [])
    .filter((arg) => arg.endsWith('.yml'))
    .map((arg) => arg.split('/').pop() ?? '');

describe('--gpu on every path', () => {
  it('start --gpu cpu --skip-preflight plans the cpu overlay, and says so', async () => {
    for (const extra of [['--skip-preflight'], []]) {
      const json = await runCli(['start', 'development', '--gpu', 'cpu', ...extra, '--dry-run', '--json'], {
        cwd: project.root,
      });
      const files = composeFiles(JSON.parse(json.stdout) as DryRun);
      expect(files).toContain('gpu-cpu.yml');
      expect(files).not.toContain('gpu-multi.yml');
    }
    const text = await runCli(['start', 'development', '--gpu', 'cpu', '--skip-preflight', '--dry-run'], {
      cwd: project.root,
    });
    expect(text.stderr).toContain('GPU layout: cpu (asked with --gpu)');
  });

  it("without --gpu and without preflight, the environment's profile, not checked, and said", async () => {
    const text = await runCli(['start', 'development', '--skip-preflight', '--dry-run'], {
      cwd: project.root,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    });
    expect(text.stderr).toMatch(
      /GPU layout: multi \(the environment's profile; not checked against this host: /,
    );
  });

  it('--gpu auto without preflight still asks the host (two NVLinked 3090s)', async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt',
      topo: 'topo-2x3090-nv4-01.txt',
    });
    const text = await runCli(['start', 'development', '--gpu', 'auto', '--skip-preflight', '--dry-run'], {
      cwd: project.root,
      env,
    });
    expect(text.stderr).toContain('GPU layout: multi on GPUs 0,1, tensor parallel 2 (asked with --gpu)');
  });

  it('generate --gpu cpu writes an env file without GPU devices', async () => {
    const multi = await runCli(['generate', 'development'], { cwd: project.root });
    expect(multi.exitCode).toBe(0);
    expect(await envFile('development')).toMatch(/^CUDA_VISIBLE_DEVICES=0,1$/m);
    const cpu = await runCli(['generate', 'development', '--gpu', 'cpu'], { cwd: project.root });
    expect(cpu.exitCode).toBe(0);
    expect(cpu.stderr).toContain('development: GPU layout: cpu (asked with --gpu)');
    const text = await envFile('development');
    expect(text).not.toMatch(/^CUDA_VISIBLE_DEVICES=0,1$/m);
    expect(text).not.toMatch(/^GPU_COUNT=2$/m);
  });

  it('runs the GPU exporter only where there are GPUs to watch, claiming none of them', async () => {
    const effective = async (gpu: string) => {
      const generated = await runCli(['generate', 'production', '--gpu', gpu], { cwd: project.root });
      expect(generated.exitCode, generated.stderr).toBe(0);
      const plan = await runCli(
        ['start', 'production', '--gpu', gpu, '--skip-preflight', '--dry-run', '--json'],
        {
          cwd: project.root,
        },
      );
      const dryRun = JSON.parse(plan.stdout) as DryRun & { graph: { service: string }[] };
      const started = dryRun.graph.map((node) => node.service);
      const command = dryRun.create[0]?.command ?? [];
      // compose itself merges the generated files as a plain `docker compose up` would.
      const config = await execa(
        'docker',
        [...command.slice(1, command.indexOf('up')), 'config', '--format', 'json'],
        { cwd: project.root },
      );
      const services = (JSON.parse(config.stdout) as { services: Record<string, ComposeService> }).services;
      const prometheus = await readFile(
        join(project.root, 'configs', 'production', 'prometheus', 'prometheus.yml'),
        'utf8',
      );
      return { started, services, prometheus };
    };
    const multi = await effective('multi');
    expect(multi.started).toContain('dcgm-exporter');
    expect(multi.services['dcgm-exporter']?.deploy?.resources?.reservations?.devices).toEqual([
      { driver: 'nvidia', count: -1, capabilities: ['gpu'] },
    ]);
    expect(multi.services['vllm']?.deploy?.resources?.reservations?.devices?.[0]?.device_ids).toEqual([
      '0',
      '1',
    ]);
    expect(multi.prometheus).toContain('job_name: dcgm-exporter');
    // Without GPUs it is not started, not even by a plain `docker compose up`, and not scraped.
    const cpu = await effective('cpu');
    expect(cpu.started).not.toContain('dcgm-exporter');
    expect(cpu.started).toContain('node-exporter');
    expect(cpu.services['dcgm-exporter']?.deploy?.replicas).toBe(0);
    expect(cpu.prometheus).not.toContain('dcgm-exporter');
    expect(cpu.prometheus).toContain('job_name: node-exporter');
  });

  it('export swarm and export k8s take --gpu cpu and print the layout', async () => {
    const swarm = await runCli(['export', 'swarm', 'development', '--gpu', 'cpu', '--out', 'dev.swarm.yml'], {
      cwd: project.root,
    });
    expect(swarm.exitCode).toBe(0);
    expect(swarm.stdout).toContain('GPU layout: cpu (asked with --gpu)');
    const stackFile = parse(await readFile(join(project.root, 'dev.swarm.yml'), 'utf8')) as {
      services: Record<
        string,
        { deploy?: { resources?: { reservations?: { generic_resources?: unknown } } } }
      >;
    };
    expect(
      Object.values(stackFile.services).some((s) => s.deploy?.resources?.reservations?.generic_resources),
    ).toBe(false);
    const k8s = await runCli(
      [
        'export',
        'k8s',
        'development',
        '--gpu',
        'cpu',
        '--out',
        'k8s',
        '--registry',
        'localhost:5000/x',
        '--json',
      ],
      { cwd: project.root },
    );
    expect(k8s.exitCode).toBe(0);
    expect((JSON.parse(k8s.stdout) as { gpu: unknown }).gpu).toEqual({ profile: 'cpu', source: 'asked' });
  });

  it('start --swarm --gpu cpu plans the cpu layout too', async () => {
    const result = await runCli(
      ['start', 'development', '--swarm', '--gpu', 'cpu', '--skip-preflight', '--dry-run'],
      { cwd: project.root },
    );
    expect(result.stderr + result.stdout).toContain('GPU layout: cpu (asked with --gpu)');
  });
});

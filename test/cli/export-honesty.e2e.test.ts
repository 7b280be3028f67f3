// Exports say what they were made from (issue 26): the user's overlay (or --no-overlay), where the
// images built from source come from (--registry, or a refusal), and what the GPU services ask of a
// cluster in all, with time-slicing as an option.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { shippedProject, type TempProject } from '../helpers/project.js';

let project: TempProject;
beforeAll(async () => {
  project = await shippedProject();
});
afterAll(() => project.remove());

const k8s = (env: string, out: string, ...extra: string[]) =>
  runCli(['export', 'k8s', env, '--out', out, '--gpu', 'multi', ...extra], { cwd: project.root });

interface Patch {
  spec: { template: { spec: { containers: { image: string }[] } } };
}
const patchImage = async (out: string, env: string, service: string): Promise<string | undefined> =>
  (
    parse(
      await readFile(join(project.root, out, 'overlays', env, 'patches', `${service}.yaml`), 'utf8'),
    ) as Patch
  ).spec.template.spec.containers[0]?.image;

describe('export k8s: images built from source', () => {
  it('refuses to write an image no cluster can pull, naming the services and the fix', async () => {
    const result = await k8s('development', 'k8s-refused');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(
      /ai-agents.* are built from source: no cluster can pull them; no manifest was written/,
    );
    expect(result.stderr).toContain('--registry registry.example.com/');
    await expect(stat(join(project.root, 'k8s-refused'))).rejects.toThrow();
  });

  it('--registry tags them for it and lists the push commands', async () => {
    const result = await k8s('development', 'k8s-reg', '--registry', 'registry.test:5000/team', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { push: { service: string; local: string; image: string }[] };
    const agents = report.push.find((target) => target.service === 'ai-agents');
    expect(agents).toEqual({
      service: 'ai-agents',
      local: 'multimodal-development-ai-agents',
      image: 'registry.test:5000/team/multimodal-development-ai-agents:latest',
    });
    expect(await patchImage('k8s-reg', 'development', 'ai-agents')).toBe(agents?.image);
    const text = await k8s('development', 'k8s-reg', '--registry', 'registry.test:5000/team');
    expect(text.stdout).toContain(
      'docker tag multimodal-development-ai-agents registry.test:5000/team/multimodal-development-ai-agents:latest',
    );
    const bad = await k8s('development', 'k8s-bad', '--registry', 'https://registry.test');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('is not HOST[:PORT][/NAMESPACE]');
  });
});

describe('exports say which overlay they used', () => {
  it('names the overlay read, and --no-overlay leaves it out', async () => {
    await mkdir(join(project.root, 'compose'), { recursive: true });
    await writeFile(
      join(project.root, 'compose', 'local.override.yml'),
      'services:\n  redis:\n    image: stackctl-test/redis:2\n',
    );
    const swarmFile = async (...extra: string[]) => {
      const result = await runCli(['export', 'swarm', 'development', '--out', 'dev.yml', ...extra], {
        cwd: project.root,
      });
      expect(result.exitCode, result.stderr).toBe(0);
      const stackFile = parse(await readFile(join(project.root, 'dev.yml'), 'utf8')) as {
        services: Record<string, { image: string }>;
      };
      return { stdout: result.stdout, redis: stackFile.services['redis']?.image };
    };
    const used = await swarmFile();
    expect(used.stdout).toContain('overlay: compose/local.override.yml read last');
    expect(used.redis).toBe('stackctl-test/redis:2');
    const left = await swarmFile('--no-overlay');
    expect(left.stdout).toContain('overlay: compose/local.override.yml left out (--no-overlay)');
    expect(left.redis).not.toBe('stackctl-test/redis:2');
    const json = await runCli(['export', 'swarm', 'development', '--out', 'dev.yml', '--json'], {
      cwd: project.root,
    });
    expect((JSON.parse(json.stdout) as { overlay: string | null }).overlay).toBe(
      'compose/local.override.yml',
    );
  });
});

describe('export k8s: GPUs in all', () => {
  it('says the total the GPU services request and what a 2-GPU node schedules', async () => {
    const result = await k8s('production', 'k8s-prod', '--registry', 'registry.test/m', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    const { notes } = JSON.parse(result.stdout) as { notes: string[] };
    const note = notes.find((line) => line.startsWith('GPU services request'));
    expect(note).toMatch(/^GPU services request (\d+) nvidia\.com\/gpu in all \(vllm 2, /);
    expect(note).toMatch(
      /a node with 2 GPUs schedules 1 of these \d+ pods, the rest stay Pending; share GPUs with --gpu-sharing N/,
    );
  });

  it('--gpu-sharing N writes the time-slicing config and counts slices', async () => {
    const result = await k8s(
      'production',
      'k8s-shared',
      '--registry',
      'registry.test/m',
      '--gpu-sharing',
      '8',
      '--json',
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const { notes } = JSON.parse(result.stdout) as { notes: string[] };
    expect(notes.find((line) => line.startsWith('GPU services request'))).toMatch(
      /With --gpu-sharing 8 each GPU is advertised 8 times .*: a node with 2 GPUs schedules (\d+) of these \1 pods/,
    );
    const config = parse(
      await readFile(join(project.root, 'k8s-shared', 'cluster', 'nvidia-time-slicing.yaml'), 'utf8'),
    ) as { kind: string; data: { any: string } };
    expect(config.kind).toBe('ConfigMap');
    expect(parse(config.data.any)).toEqual({
      version: 'v1',
      flags: { migStrategy: 'none' },
      sharing: { timeSlicing: { resources: [{ name: 'nvidia.com/gpu', replicas: 8 }] } },
    });
    const bad = await k8s('production', 'k8s-x', '--registry', 'registry.test/m', '--gpu-sharing', '1');
    expect(bad.exitCode).toBe(2);
  });
});

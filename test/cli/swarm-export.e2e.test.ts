// `stackctl export swarm`: the shipped environments as stack files the docker CLI accepts
// (`docker stack config` checks them against its compose schema), with no secret value in them.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { shippedProject, type TempProject } from '../helpers/project.js';

/** The parts of a stack file these tests read. */
interface StackFile {
  services: Record<
    string,
    {
      environment: Record<string, string | undefined>;
      configs: { target: string }[];
      deploy: {
        resources?: { reservations?: { generic_resources?: unknown } };
        update_config: { order: string };
      };
    }
  >;
  secrets: Record<string, { external: boolean }>;
  networks: Record<string, unknown>;
}

let project: TempProject;
beforeAll(async () => {
  project = await shippedProject();
});
afterAll(() => project.remove());

const secretValues = async (env: string): Promise<string[]> =>
  Object.values(
    (
      JSON.parse(await readFile(join(project.root, 'secrets', `.env.${env}.json`), 'utf8')) as {
        secrets: Record<string, { value: string }>;
      }
    ).secrets,
  ).map((entry) => entry.value);

describe('export swarm', () => {
  it('writes stack files docker accepts, with secrets as references only', async () => {
    for (const env of ['development', 'production', 'testing']) {
      const result = await runCli(['export', 'swarm', env, '--out', `${env}.yml`, '--json'], {
        cwd: project.root,
      });
      expect(result.exitCode, result.stderr).toBe(0);
      const exported = JSON.parse(result.stdout) as {
        file: string;
        fromEnvironment: string[];
        secrets: { name: string }[];
      };
      const text = await readFile(exported.file, 'utf8');
      for (const value of await secretValues(env))
        expect(text.includes(value), `${env} holds a secret value`).toBe(false);
      // docker reads the stack file as `docker stack deploy` would, values coming from its environment.
      const values = Object.fromEntries(exported.fromEnvironment.map((name) => [name, 'x']));
      const checked = await execa('docker', ['stack', 'config', '-c', exported.file], {
        env: values,
        reject: false,
      });
      expect(checked.exitCode, checked.stderr).toBe(0);
    }
  });

  it('reserves the GPU profile for GPU services and reads secrets from files where the image can', async () => {
    const result = await runCli(['export', 'swarm', 'production', '--out', 'prod.yml'], {
      cwd: project.root,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('docker stack deploy -c prod.yml');
    const stack = parse(await readFile(join(project.root, 'prod.yml'), 'utf8')) as StackFile;
    expect(stack.services['vllm']?.deploy.resources?.reservations?.generic_resources).toEqual([
      { discrete_resource_spec: { kind: 'NVIDIA-GPU', value: 2 } },
    ]);
    expect(stack.services['postgres']?.environment.POSTGRES_PASSWORD).toBeUndefined();
    expect(stack.services['postgres']?.environment.POSTGRES_PASSWORD_FILE).toBe(
      '/run/secrets/postgres_password',
    );
    expect(stack.secrets['postgres_password']?.external).toBe(true);
    expect(stack.services['postgres']?.deploy.update_config.order).toBe('stop-first');
    expect(stack.networks['core-net']).toMatchObject({ driver: 'overlay', attachable: true });
    // Generated config files travel as swarm configs, named by their content.
    expect(stack.services['nginx']?.configs[0]?.target).toBe('/etc/nginx/nginx.conf');
    expect(result.stdout).toContain('swarm publishes ports on every address');
  });

  it('exports the GPU profile --gpu names', async () => {
    const cpu = await runCli(['export', 'swarm', 'production', '--gpu', 'cpu', '--out', 'cpu.yml'], {
      cwd: project.root,
    });
    expect(cpu.exitCode, cpu.stderr).toBe(0);
    const stack = parse(await readFile(join(project.root, 'cpu.yml'), 'utf8')) as StackFile;
    expect(stack.services['vllm']?.deploy.resources?.reservations?.generic_resources).toBeUndefined();
    const k8s = await runCli(
      ['export', 'k8s', 'production', '--gpu', 'single', '--out', 'k8s-single', '--json'],
      {
        cwd: project.root,
      },
    );
    expect(k8s.exitCode, k8s.stderr).toBe(0);
    const patch = parse(
      await readFile(
        join(project.root, 'k8s-single', 'overlays', 'production', 'patches', 'vllm.yaml'),
        'utf8',
      ),
    ) as {
      spec: { template: { spec: { containers: { resources: { limits: Record<string, string> } }[] } } };
    };
    expect(patch.spec.template.spec.containers[0]?.resources.limits['nvidia.com/gpu']).toBe('1');
  });
});

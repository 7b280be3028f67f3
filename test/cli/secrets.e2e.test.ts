import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { fakeNvidiaSmiEnv } from '../helpers/fake-nvidia-smi.js';
import { HOST_FIXTURES } from '../helpers/paths.js';
import { shippedProject, type TempProject } from '../helpers/project.js';

let project: TempProject;
beforeAll(async () => {
  project = await shippedProject();
  expect((await runCli(['generate', '--all'], { cwd: project.root })).exitCode).toBe(0);
});
afterAll(() => project.remove());

type Store = { secrets: Record<string, { value: string; createdAt: string; rotationDueAt: string }> };
const store = async (env: string): Promise<Store> =>
  JSON.parse(await readFile(join(project.root, 'secrets', `.env.${env}.json`), 'utf8')) as Store;

async function allSecretValues(): Promise<string[]> {
  const names = (await readdir(join(project.root, 'secrets'))).filter((name) => name.includes('.json'));
  const values: string[] = [];
  for (const name of names) {
    const data = JSON.parse(await readFile(join(project.root, 'secrets', name), 'utf8')) as Store;
    values.push(...Object.values(data.secrets).map((entry) => entry.value));
  }
  return values;
}

describe('stackctl secrets status', () => {
  it('lists names, types, ages and due dates', async () => {
    const result = await runCli(['secrets', 'status', 'staging'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^ {2}JWT_SECRET_KEY +jwt_secret +0d +\d{4}-\d{2}-\d{2}$/m);
    const json = JSON.parse(
      (await runCli(['secrets', 'status', '--json'], { cwd: project.root })).stdout,
    ) as {
      environments: { name: string; secrets: { name: string; overdue: boolean }[] }[];
    };
    expect(json.environments).toHaveLength(7);
    expect(json.environments[0]?.secrets.every((row) => !row.overdue)).toBe(true);
  });
});

describe('stackctl secrets rotate', () => {
  it('refuses without a terminal unless --yes, changing nothing', async () => {
    const before = await store('staging');
    const result = await runCli(['secrets', 'rotate', 'staging', '--name', 'POSTGRES_PASSWORD'], {
      cwd: project.root,
    });
    expect(result.exitCode).toBe(4);
    expect(await store('staging')).toEqual(before);
  });

  it('replaces the secret, backs up the old value 0600, and updates the files that carry it', async () => {
    const before = await store('staging');
    const oldValue = before.secrets['POSTGRES_PASSWORD']?.value ?? '';
    const result = await runCli(
      ['secrets', 'rotate', 'staging', '--name', 'POSTGRES_PASSWORD', '--yes', '--json'],
      {
        cwd: project.root,
      },
    );
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as {
      rotated: string[];
      backup: string;
      files: { path: string; status: string }[];
    };
    expect(report.rotated).toEqual(['POSTGRES_PASSWORD']);
    expect(
      report.files
        .filter((f) => f.status === 'updated')
        .map((f) => f.path)
        .sort(),
    ).toEqual(['.env.staging', 'k8s-secrets-staging.yaml', 'secrets/.env.staging.json'].sort());
    const after = await store('staging');
    const newValue = after.secrets['POSTGRES_PASSWORD']?.value ?? '';
    expect(newValue).not.toBe(oldValue);
    expect(after.secrets['REDIS_PASSWORD']).toEqual(before.secrets['REDIS_PASSWORD']);
    const backup = join(project.root, report.backup);
    expect((await stat(backup)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(backup, 'utf8'))).toEqual(before);
    const envFile = await readFile(join(project.root, '.env.staging'), 'utf8');
    expect(envFile).toContain(`POSTGRES_PASSWORD=${newValue}`);
    expect(envFile).not.toContain(oldValue);
    const k8s = await readFile(join(project.root, 'k8s-secrets-staging.yaml'), 'utf8');
    expect(k8s).toContain(Buffer.from(newValue).toString('base64'));
    expect((await runCli(['generate', '--all', '--check'], { cwd: project.root })).exitCode).toBe(0);
  });

  it('rotates by type and reports nothing due on a fresh store', async () => {
    const before = await store('production');
    const result = await runCli(['secrets', 'rotate', 'production', '--type', 'api_key', '--yes', '--json'], {
      cwd: project.root,
    });
    const rotated = (JSON.parse(result.stdout) as { rotated: string[] }).rotated;
    expect(rotated.sort()).toEqual(['LITELLM_MASTER_KEY', 'QDRANT_API_KEY', 'VLLM_API_KEY']);
    const after = await store('production');
    expect(after.secrets['LITELLM_MASTER_KEY']?.value).toMatch(/^sk-/);
    expect(after.secrets['JWT_SECRET_KEY']).toEqual(before.secrets['JWT_SECRET_KEY']);
    const due = await runCli(['secrets', 'rotate', 'production', '--due', '--yes', '--json'], {
      cwd: project.root,
    });
    expect((JSON.parse(due.stdout) as { rotated: string[] }).rotated).toEqual([]);
  });

  it('rejects an unknown secret name and a missing selector with exit 2', async () => {
    expect(
      (await runCli(['secrets', 'rotate', 'staging', '--name', 'NOPE', '--yes'], { cwd: project.root }))
        .exitCode,
    ).toBe(2);
    expect((await runCli(['secrets', 'rotate', 'staging', '--yes'], { cwd: project.root })).exitCode).toBe(2);
  });
});

describe('no command prints a secret value', () => {
  it('in any output mode', async () => {
    const gpu = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt',
      topo: 'topo-2x3090-nv4-01.txt',
    });
    const commands: { args: string[]; env?: Record<string, string> }[] = [
      { args: ['validate'] },
      { args: ['validate', '--json'] },
      { args: ['generate', '--all'] },
      { args: ['generate', '--all', '--json'] },
      { args: ['generate', '--all', '--check'] },
      { args: ['generate', '--all', '--check', '--json'] },
      { args: ['secrets', 'status'] },
      { args: ['secrets', 'status', '--json'] },
      { args: ['secrets', 'rotate', 'testing', '--all', '--yes'] },
      { args: ['secrets', 'rotate', 'testing', '--all', '--yes', '--json'] },
      { args: ['preflight', 'testing'] },
      { args: ['preflight', 'testing', '--json'] },
      { args: ['preflight', 'development', '--ci'] },
      { args: ['preflight', 'development', '--ci', '--json'] },
      { args: ['gpu', 'detect'], env: gpu },
      { args: ['gpu', 'detect', '--json'], env: gpu },
      { args: ['gpu', 'topology', '-i', join(HOST_FIXTURES, 'nvidia-smi', 'topo-2x3090-nv4-01.txt')] },
      { args: ['gpu', 'configure', 'development', '--json'], env: gpu },
      { args: ['--verbose', 'generate', 'nope'] },
    ];
    const outputs: CliResult[] = [];
    for (const command of commands)
      outputs.push(await runCli(command.args, { cwd: project.root, env: command.env }));
    const values = await allSecretValues();
    expect(values.length).toBeGreaterThan(90);
    for (const [i, output] of outputs.entries()) {
      for (const value of values) {
        expect(
          output.stdout.includes(value) || output.stderr.includes(value),
          commands[i]?.args.join(' '),
        ).toBe(false);
      }
    }
  });
});

// generate against the shipped schema, checked by a real `docker compose config`.
import { readFile, stat, writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from '../helpers/cli.js';
import { composeConfig, type GeneratedEnvironment } from '../helpers/compose.js';
import { shippedProject, type TempProject } from '../helpers/project.js';

interface GenerateReport {
  environments: GeneratedEnvironment[];
  files: { path: string; status: string }[];
}

interface ComposeService {
  ports?: { host_ip?: string; published?: string; target: number }[];
  networks?: Record<string, unknown>;
  labels?: Record<string, string>;
  deploy?: {
    replicas?: number;
    resources?: { limits?: { memory?: string }; reservations?: { devices?: { device_ids?: string[] }[] } };
  };
  healthcheck?: { interval?: string; start_interval?: string };
  container_name?: string;
  environment?: Record<string, string>;
}
interface ComposeConfig {
  name: string;
  services: Record<string, ComposeService>;
  networks: Record<string, { ipam?: { config?: { subnet: string }[] }; labels?: Record<string, string> }>;
  volumes?: Record<string, { labels?: Record<string, string> }>;
}

let project: TempProject;
let report: GenerateReport;
const configs = new Map<string, ComposeConfig>();

const ENVIRONMENTS = [
  'development',
  'staging',
  'production',
  'testing',
  'performance',
  'monitoring',
  'optimized',
];

beforeAll(async () => {
  project = await shippedProject();
  const result = await runCli(['generate', '--all', '--json'], { cwd: project.root });
  expect(result.exitCode).toBe(0);
  report = JSON.parse(result.stdout) as GenerateReport;
  for (const env of report.environments) {
    configs.set(env.name, await mergedConfig(env));
  }
}, 120_000);

afterAll(() => project.remove());

const config = (env: string): ComposeConfig => configs.get(env) as ComposeConfig;

/** What `docker compose config` makes of a generated file set. */
async function mergedConfig(env: GeneratedEnvironment): Promise<ComposeConfig> {
  const result = await composeConfig(project.root, env, ['--format', 'json']);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ComposeConfig;
}
const secretsOf = async (env: string): Promise<Record<string, { value: string }>> =>
  (
    JSON.parse(await readFile(join(project.root, 'secrets', `.env.${env}.json`), 'utf8')) as {
      secrets: Record<string, { value: string }>;
    }
  ).secrets;

describe('stackctl generate --all', () => {
  it('reports every environment with its env file and compose files in read order', () => {
    expect(report.environments.map((env) => env.name)).toEqual(ENVIRONMENTS);
    expect(report.environments.find((env) => env.name === 'production')).toEqual({
      name: 'production',
      envFile: '.env.production',
      composeFiles: [
        'compose/base.yml',
        'compose/monitoring.yml',
        'compose/gpu-multi.yml',
        'compose/production.override.yml',
      ],
    });
    expect(report.environments.find((env) => env.name === 'testing')?.composeFiles).toEqual([
      'compose/base.yml',
      'compose/testing.yml',
      'compose/gpu-cpu.yml',
      'compose/testing.override.yml',
    ]);
    expect(new Set(report.files.map((file) => file.status))).toEqual(new Set(['created']));
  });

  it.each(ENVIRONMENTS)('%s passes docker compose config --quiet (the compose-spec schema)', async (env) => {
    const generated = report.environments.find((e) => e.name === env) as GeneratedEnvironment;
    const result = await composeConfig(project.root, generated, ['--quiet']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('runs exactly the services of each environment, as its own compose project', () => {
    expect(Object.keys(config('staging').services)).not.toContain('nginx');
    expect(Object.keys(config('testing').services).sort()).toEqual([
      'allure-cli',
      'allure-report',
      'allure-results',
    ]);
    expect(Object.keys(config('monitoring').services)).toEqual(
      expect.arrayContaining(['elasticsearch', 'kibana', 'logstash', 'filebeat']),
    );
    expect(Object.keys(config('production').services)).toEqual(
      expect.arrayContaining(['prometheus', 'grafana']),
    );
    expect(ENVIRONMENTS.map((env) => config(env).name)).toEqual(
      ENVIRONMENTS.map((env) => `multimodal-${env}`),
    );
  });

  it("joins each service to its own stack network and its dependencies' (litellm reaches postgres)", () => {
    expect(Object.keys(config('development').services['litellm']?.networks ?? {}).sort()).toEqual([
      'core-net',
      'inference-net',
    ]);
    expect(Object.keys(config('development').services['openwebui']?.networks ?? {}).sort()).toEqual([
      'ai-net',
      'core-net',
      'inference-net',
      'ui-net',
    ]);
    expect(Object.keys(config('testing').services['allure-report']?.networks ?? {}).sort()).toEqual([
      'core-net',
      'testing-net',
    ]);
  });

  it('gives every environment its own private subnets, so two can run side by side', () => {
    const subnets = (env: string) =>
      Object.values(config(env).networks).flatMap((n) => n.ipam?.config?.map((c) => c.subnet) ?? []);
    expect(subnets('development').sort()).toEqual([
      '10.30.0.0/24',
      '10.30.1.0/24',
      '10.30.2.0/24',
      '10.30.3.0/24',
    ]);
    expect(subnets('staging').sort()).toEqual([
      '10.30.16.0/24',
      '10.30.17.0/24',
      '10.30.18.0/24',
      '10.30.19.0/24',
    ]);
    const all = ENVIRONMENTS.flatMap(subnets);
    expect(new Set(all).size).toBe(all.length);
  });

  it('labels services, networks and volumes with the environment and stack', () => {
    const dev = config('development');
    expect(dev.services['postgres']?.labels).toMatchObject({
      'io.stackctl.environment': 'development',
      'io.stackctl.stack': 'core',
    });
    expect(dev.networks['core-net']?.labels).toMatchObject({
      'io.stackctl.environment': 'development',
      'io.stackctl.stack': 'core',
    });
    expect(dev.volumes?.['postgres_data']?.labels).toMatchObject({
      'io.stackctl.environment': 'development',
      'io.stackctl.data': 'db',
    });
  });

  it('applies the matrix: memory limits, replicas without host ports, and fast health checks for testing', () => {
    expect(config('staging').services['postgres']?.deploy?.resources?.limits?.memory).toBe(
      String(2 * 1024 ** 3),
    );
    expect(config('production').services['redis']?.deploy?.resources?.limits?.memory).toBe(String(1024 ** 3));
    expect(config('production').services['multimodal-worker']?.deploy?.replicas).toBe(3);
    expect(config('production').services['multimodal-worker']?.ports).toBeUndefined();
    expect(config('development').services['multimodal-worker']?.ports?.[0]).toMatchObject({
      published: '8001',
      target: 8001,
    });
    expect(config('testing').services['allure-results']?.healthcheck).toMatchObject({
      interval: '5s',
      start_interval: '1s',
    });
    expect(config('development').services['postgres']?.healthcheck).toMatchObject({
      interval: '30s',
      start_interval: '1s',
    });
  });

  it('never sets container_name, and binds published ports to 127.0.0.1', () => {
    for (const env of ENVIRONMENTS) {
      for (const service of Object.values(config(env).services)) {
        expect(service.container_name).toBeUndefined();
        for (const port of service.ports ?? []) expect(port.host_ip).toBe('127.0.0.1');
      }
    }
  });

  it('reserves GPUs from the profile, and nothing at all on the cpu profile', () => {
    const devices = config('development').services['vllm']?.deploy?.resources?.reservations?.devices;
    expect(devices).toEqual([
      expect.objectContaining({ driver: 'nvidia', device_ids: ['0', '1'], capabilities: ['gpu'] }),
    ]);
    for (const env of ['testing', 'performance']) {
      for (const service of Object.values(config(env).services))
        expect(service.deploy?.resources?.reservations).toBeUndefined();
    }
  });

  it('puts secret values in env files only: never in compose files', async () => {
    const secrets = await secretsOf('production');
    const composeDir = join(project.root, 'compose');
    for (const name of await readdir(composeDir)) {
      const text = await readFile(join(composeDir, name), 'utf8');
      for (const { value } of Object.values(secrets)) expect(text).not.toContain(value);
    }
    expect(config('production').services['postgres']?.environment?.['POSTGRES_PASSWORD']).toBe(
      secrets['POSTGRES_PASSWORD']?.value,
    );
  });

  it('writes secrets 0600 in a 0700 folder, and env and Kubernetes files 0600', async () => {
    const mode = async (path: string) => (await stat(join(project.root, path))).mode & 0o777;
    expect(await mode('secrets')).toBe(0o700);
    expect(await mode('secrets/.env.development.json')).toBe(0o600);
    expect(await mode('.env.development')).toBe(0o600);
    expect(await mode('k8s-secrets-development.yaml')).toBe(0o600);
    expect(await mode('compose/base.yml')).toBe(0o644);
  });

  it('starts every generated file with a do-not-edit header naming the schema hash', async () => {
    for (const file of report.files) {
      const text = await readFile(join(project.root, file.path), 'utf8');
      if (file.path.endsWith('.json')) continue;
      expect(text.split('\n')[0]).toMatch(
        /^# Generated by stackctl from schemas\/compose-schema\.yaml \(schema sha256:[0-9a-f]{16}\)\.$/,
      );
    }
  });

  it("writes a Kubernetes v1 Secret that the Secret schema accepts, holding the store's values", async () => {
    const secrets = await secretsOf('staging');
    const manifest = parse(await readFile(join(project.root, 'k8s-secrets-staging.yaml'), 'utf8')) as unknown;
    // The rules of the Kubernetes API for a Secret (core/v1): DNS-1123 subdomain name, label syntax,
    // data keys of [-._a-zA-Z0-9], base64 values.
    const label = z
      .string()
      .max(63)
      .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/);
    const secretSchema = z
      .object({
        apiVersion: z.literal('v1'),
        kind: z.literal('Secret'),
        metadata: z.object({
          name: z
            .string()
            .max(253)
            .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/),
          labels: z.record(
            z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/),
            label,
          ),
        }),
        type: z.literal('Opaque'),
        data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/), z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/)),
      })
      .strict();
    const secret = secretSchema.parse(manifest);
    expect(secret.metadata).toMatchObject({
      name: 'multimodal-staging-secrets',
      labels: { 'io.stackctl.environment': 'staging' },
    });
    const decoded = Object.fromEntries(
      Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    expect(decoded).toEqual(Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, v.value])));
  });

  it('is deterministic: a second run changes nothing and keeps every secret', async () => {
    const before = await secretsOf('development');
    const envBefore = await readFile(join(project.root, '.env.development'), 'utf8');
    const again = await runCli(['generate', '--all', '--json'], { cwd: project.root });
    expect(again.exitCode).toBe(0);
    const second = JSON.parse(again.stdout) as GenerateReport;
    expect(second.files.filter((file) => file.status !== 'unchanged')).toEqual([]);
    expect(await secretsOf('development')).toEqual(before);
    expect(await readFile(join(project.root, '.env.development'), 'utf8')).toBe(envBefore);
  });

  it('--check passes when current and exits 1 listing drift, writing nothing', async () => {
    expect((await runCli(['generate', '--all', '--check'], { cwd: project.root })).exitCode).toBe(0);
    const path = join(project.root, 'compose', 'staging.override.yml');
    const original = await readFile(path, 'utf8');
    await writeFile(path, `${original}# hand edit\n`);
    try {
      const result = await runCli(['generate', '--all', '--check'], { cwd: project.root });
      expect(result.exitCode).toBe(1);
      expect(result.stdout.trim()).toBe('differs  compose/staging.override.yml');
      expect(await readFile(path, 'utf8')).toBe(`${original}# hand edit\n`);
    } finally {
      await writeFile(path, original);
    }
  });

  it('reads compose/local.override.yml last and never writes it', async () => {
    const local = join(project.root, 'compose', 'local.override.yml');
    await writeFile(local, 'services:\n  postgres:\n    environment:\n      LOCAL_TUNING: "on"\n');
    try {
      const result = await runCli(['generate', 'development', '--json'], { cwd: project.root });
      const generated = JSON.parse(result.stdout) as GenerateReport;
      expect(generated.environments[0]?.composeFiles.at(-1)).toBe('compose/local.override.yml');
      expect(generated.files.map((f) => f.path)).not.toContain('compose/local.override.yml');
      const merged = await mergedConfig(generated.environments[0] as GeneratedEnvironment);
      expect(merged.services['postgres']?.environment?.['LOCAL_TUNING']).toBe('on');
      expect(await readFile(local, 'utf8')).toContain('LOCAL_TUNING');
    } finally {
      await writeFile(local, '');
      await (await import('node:fs/promises')).rm(local);
    }
  });

  it('shapes env files from env-templates/, and rejects a template naming an unknown variable', async () => {
    const templates = join(project.root, 'env-templates');
    await mkdir(templates, { recursive: true });
    await writeFile(
      join(templates, 'master.env.j2'),
      '{{ header }}\n# our own layout\n{{ variable("LOG_LEVEL") }}\n{{ remaining() }}\n',
    );
    try {
      expect((await runCli(['generate', 'testing'], { cwd: project.root })).exitCode).toBe(0);
      const text = await readFile(join(project.root, '.env.testing'), 'utf8');
      expect(text).toMatch(/# our own layout\n# Log level of the stack's own services\nLOG_LEVEL=DEBUG\n/);
      expect(text).toMatch(/^POSTGRES_PORT=5432$/m);
      await writeFile(join(templates, 'master.env.j2'), '{{ variable("NO_SUCH_VAR") }}\n');
      const bad = await runCli(['generate', 'testing'], { cwd: project.root });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain('unknown variable "NO_SUCH_VAR"');
      // nunjucks has no sandbox: a template that reaches for code is refused before anything renders.
      const marker = join(project.root, 'template-ran-code');
      for (const [expression, what] of [
        [
          `range.constructor("return process.mainModule.require('fs').writeFileSync('${marker}', 'x')")()`,
          'a call',
        ],
        ['variable.constructor', 'a lookup'],
        ['cycler("a")', 'a call'],
        ['environment.name | safe', 'the filter "safe"'],
      ] as const) {
        await writeFile(
          join(templates, 'master.env.j2'),
          `{{ header }}\n\n{{ ${expression} }}\n{{ remaining() }}\n`,
        );
        const refused = await runCli(['generate', 'testing'], { cwd: project.root });
        expect(refused.exitCode, expression).toBe(2);
        expect(refused.stderr).toContain(`env-templates/master.env.j2:3 uses ${what}`);
      }
      await expect(readFile(marker)).rejects.toThrow();
      // What env files need still renders, conditions included.
      await writeFile(
        join(templates, 'master.env.j2'),
        '{{ header }}\n{% if environment.name == "testing" %}# for tests\n{% endif %}{{ variable("LOG_LEVEL") }}\n{{ remaining() }}\n',
      );
      expect((await runCli(['generate', 'testing'], { cwd: project.root })).exitCode).toBe(0);
      expect(await readFile(join(project.root, '.env.testing'), 'utf8')).toContain('# for tests\n');
    } finally {
      await (await import('node:fs/promises')).rm(templates, { recursive: true, force: true });
      await runCli(['generate', 'testing'], { cwd: project.root });
    }
  });

  it('refuses no environment, an unknown one, and both names and --all, with exit 2', async () => {
    expect((await runCli(['generate'], { cwd: project.root })).exitCode).toBe(2);
    const unknown = await runCli(['generate', 'prod'], { cwd: project.root });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('did you mean "production"?');
    expect((await runCli(['generate', 'staging', '--all'], { cwd: project.root })).exitCode).toBe(2);
  });
});

describe('a host-port variable', () => {
  it('changes only the host side of the mapping', async () => {
    const schema = join(project.root, 'schemas', 'compose-schema.yaml');
    const original = await readFile(schema, 'utf8');
    await writeFile(
      schema,
      original.replace(
        '      LOG_LEVEL: INFO\n      DEBUG: false\n      VLLM_GPU_MEMORY_UTILIZATION: 0.85',
        '      LOG_LEVEL: INFO\n      DEBUG: false\n      VLLM_GPU_MEMORY_UTILIZATION: 0.85\n      POSTGRES_PORT: 15432',
      ),
    );
    try {
      const result = await runCli(['generate', 'staging', '--json'], { cwd: project.root });
      expect(result.exitCode).toBe(0);
      const generated = JSON.parse(result.stdout) as GenerateReport;
      const merged = await mergedConfig(generated.environments[0] as GeneratedEnvironment);
      expect(merged.services['postgres']?.ports).toEqual([
        expect.objectContaining({ host_ip: '127.0.0.1', published: '15432', target: 5432 }),
      ]);
    } finally {
      await writeFile(schema, original);
    }
  });
});

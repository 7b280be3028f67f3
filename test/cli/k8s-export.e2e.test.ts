// `stackctl export k8s`: every environment of the shipped schema as a Kustomize layout whose build
// (base + the environment's overlay) passes the Kubernetes OpenAPI schemas, and carries what compose
// would run: probes, GPUs, secrets as references or files, start order, the stack networks' traffic.
import { execa } from 'execa';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import type { IStatefulSet } from 'kubernetes-models/apps/v1';
import type { IExternalSecret } from '@kubernetes-models/external-secrets/external-secrets.io/v1beta1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IConfigMap, IEnvVar, ISecret } from 'kubernetes-models/v1';
import {
  kustomizeBuild,
  mainContainer,
  WORKLOAD_KINDS,
  ofKind,
  podSpecOf,
  validateManifest,
  workloadOf,
} from '../helpers/kustomize.js';
import { shippedProject, type TempProject } from '../helpers/project.js';

interface ShippedSchema {
  environments: Record<string, { services: string[] }>;
}

let project: TempProject;
let schema: ShippedSchema;
beforeAll(async () => {
  project = await shippedProject();
  schema = parse(
    await readFile(join(project.root, 'schemas', 'compose-schema.yaml'), 'utf8'),
  ) as ShippedSchema;
});
afterAll(() => project.remove());

async function filesUnder(folder: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

async function storedSecrets(env: string): Promise<Record<string, string>> {
  const store = JSON.parse(await readFile(join(project.root, 'secrets', `.env.${env}.json`), 'utf8')) as {
    secrets: Record<string, { value: string }>;
  };
  return Object.fromEntries(Object.entries(store.secrets).map(([name, entry]) => [name, entry.value]));
}
const secretValues = async (env: string): Promise<string[]> => Object.values(await storedSecrets(env));

async function exportEnvironment(env: string, out: string, extra: string[] = []) {
  // The services built from source need a registry a cluster pulls from.
  const registry = ['--registry', 'registry.test/multimodal'];
  const result = await runCli(['export', 'k8s', env, '--out', out, '--json', ...registry, ...extra], {
    cwd: project.root,
  });
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { namespace: string; files: string[]; notes: string[]; apply: string };
}

const envOf = (built: Parameters<typeof workloadOf>[0], service: string): IEnvVar[] =>
  mainContainer(workloadOf(built, service)).env ?? [];

describe('export k8s', () => {
  it('writes every environment as a layout whose every manifest passes the Kubernetes schemas', async () => {
    for (const [env, definition] of Object.entries(schema.environments)) {
      const exported = await exportEnvironment(env, 'k8s');
      expect(exported.apply).toBe(`kubectl apply -k k8s/overlays/${env}`);
      const built = await kustomizeBuild(join(project.root, 'k8s', 'overlays', env));
      const problems: string[] = [];
      for (const manifest of built) {
        try {
          await validateManifest(manifest);
        } catch (error) {
          problems.push(`${env} ${manifest.kind} ${manifest.metadata.name}: ${(error as Error).message}`);
        }
      }
      expect(problems).toEqual([]);
      // One namespace per environment, everything in it.
      expect(built.filter((m) => m.kind === 'Namespace').map((m) => m.metadata.name)).toEqual([
        exported.namespace,
      ]);
      for (const manifest of built.filter((m) => m.kind !== 'Namespace'))
        expect(manifest.metadata.namespace, `${manifest.kind} ${manifest.metadata.name}`).toBe(
          exported.namespace,
        );
      // A workload per service the environment runs, and nothing else.
      const workloads = built.filter((m) => WORKLOAD_KINDS.includes(m.kind));
      expect(workloads.map((m) => m.metadata.name).sort()).toEqual([...definition.services].sort());
      // Workloads that hold data keep it in claims of their own.
      for (const set of ofKind<IStatefulSet>(built, 'StatefulSet'))
        expect(set.spec?.volumeClaimTemplates?.length).toBeGreaterThan(0);
    }
  });

  it('keeps secret values in the 0600 Secret of the overlay only', async () => {
    await exportEnvironment('production', 'k8s-prod');
    const folder = join(project.root, 'k8s-prod');
    const values = await secretValues('production');
    expect(values.length).toBeGreaterThan(5);
    for (const path of await filesUnder(folder)) {
      const text = await readFile(path, 'utf8');
      const name = relative(folder, path);
      if (name === 'overlays/production/secret.yaml') {
        expect((await stat(path)).mode & 0o777).toBe(0o600);
        expect((await stat(join(folder, 'overlays', 'production'))).mode & 0o777).toBe(0o700);
        const secret = parse(text) as ISecret;
        expect(Buffer.from(secret.data?.['POSTGRES_PASSWORD'] ?? '', 'base64').toString()).toBe(
          (await storedSecrets('production'))['POSTGRES_PASSWORD'],
        );
        continue;
      }
      for (const value of values) expect(text.includes(value), `${name} holds a secret value`).toBe(false);
    }
  });

  it('carries probes, GPUs, secret files, start order and the stack networks', async () => {
    const exported = await exportEnvironment('production', 'k8s-prod');
    const built = await kustomizeBuild(join(project.root, 'k8s-prod', 'overlays', 'production'));

    // vLLM gets the GPU profile's two GPUs, on GPU nodes, with the tensor-parallel setting.
    const vllm = mainContainer(workloadOf(built, 'vllm'));
    expect(vllm.resources?.limits?.['nvidia.com/gpu']).toBe('2');
    expect(vllm.resources?.requests?.['nvidia.com/gpu']).toBe('2');
    expect(podSpecOf(workloadOf(built, 'vllm')).nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    const args = vllm.args ?? [];
    expect(args[args.indexOf('--tensor-parallel-size') + 1]).toBe('2');
    // Its healthcheck (python urllib GET /health) is an HTTP probe; the start period a startup probe.
    expect(vllm.readinessProbe?.httpGet).toEqual({ path: '/health', port: 8000 });
    expect(vllm.startupProbe?.failureThreshold).toBeGreaterThan(
      vllm.livenessProbe?.failureThreshold ?? Infinity,
    );

    // The GPU exporter runs on every GPU node and claims none of its GPUs (vLLM has them).
    const dcgm = workloadOf(built, 'dcgm-exporter');
    expect(dcgm.kind).toBe('DaemonSet');
    expect(podSpecOf(dcgm).nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(podSpecOf(dcgm).tolerations).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(JSON.stringify(mainContainer(dcgm).resources ?? {})).not.toContain('nvidia.com/gpu');
    expect(envOf(built, 'dcgm-exporter')).toContainEqual({ name: 'NVIDIA_VISIBLE_DEVICES', value: 'all' });
    expect(mainContainer(dcgm).securityContext?.capabilities?.add).toEqual(['SYS_ADMIN']);
    expect(exported.notes.some((note) => note.startsWith('dcgm-exporter watches GPUs'))).toBe(true);

    // cAdvisor's Docker socket is a socket on the node, not a folder.
    const socket = podSpecOf(workloadOf(built, 'cadvisor')).volumes?.find(
      (volume) => volume.hostPath?.path === '/var/run/docker.sock',
    );
    expect(socket?.hostPath?.type).toBe('Socket');

    // PostgreSQL reads its password from a mounted file; others get it from the Secret by reference.
    const postgresEnv = envOf(built, 'postgres');
    expect(postgresEnv.find((e) => e.name === 'POSTGRES_PASSWORD')).toBeUndefined();
    expect(postgresEnv.find((e) => e.name === 'POSTGRES_PASSWORD_FILE')?.value).toBe(
      '/run/secrets/postgres_password',
    );
    expect(workloadOf(built, 'postgres').kind).toBe('StatefulSet');
    const litellm = envOf(built, 'litellm');
    const url = litellm.findIndex((e) => e.name === 'DATABASE_URL');
    expect(litellm[url]?.value).toContain('$(POSTGRES_PASSWORD)');
    const reference = litellm.findIndex((e) => e.name === 'POSTGRES_PASSWORD');
    expect(litellm[reference]?.valueFrom?.secretKeyRef?.key).toBe('POSTGRES_PASSWORD');
    // Kubernetes expands $(NAME) only from variables defined before.
    expect(reference).toBeLessThan(url);

    // Start order: litellm waits for PostgreSQL's port before it starts.
    const init = (podSpecOf(workloadOf(built, 'litellm')).initContainers ?? []).map((c) => c.name);
    expect(init).toContain('wait-for-postgres');

    // Traffic: core pods are reached from the stacks that depend on core; monitoring reaches core too.
    const policies = ofKind<INetworkPolicy>(built, 'NetworkPolicy');
    const policy = (name: string) => policies.find((p) => p.metadata?.name === name);
    expect(policy('default-deny-ingress')).toBeDefined();
    const members = (name: string): string[] =>
      policy(name)?.spec?.podSelector?.matchExpressions?.[0]?.values ?? [];
    expect(members('network-core-net')).toEqual(
      expect.arrayContaining(['core', 'inference', 'ui', 'monitoring']),
    );
    expect(members('network-inference-net')).not.toContain('monitoring');
    // Ports published on loopback (BIND_ADDRESS 127.0.0.1) reach the host only: no policy opens them.
    expect(policies.filter((p) => p.metadata?.name?.startsWith('published-'))).toEqual([]);

    // Generated config files become ConfigMaps the pods mount.
    const configVolume = podSpecOf(workloadOf(built, 'nginx')).volumes?.find((v) => v.configMap);
    const map = ofKind<IConfigMap>(built, 'ConfigMap').find(
      (m) => m.metadata?.name === configVolume?.configMap?.name,
    );
    expect(map?.data?.['nginx.conf']).toContain('upstream');
  });

  it('opens the ports a service publishes on a network address, and only those', async () => {
    const schemaPath = join(project.root, 'schemas', 'compose-schema.yaml');
    const original = await readFile(schemaPath, 'utf8');
    try {
      await writeFile(
        schemaPath,
        original.replace(/( {2}BIND_ADDRESS:\n(?: {4}.*\n)*? {4}default: )127\.0\.0\.1/, '$10.0.0.0'),
      );
      await exportEnvironment('testing', 'k8s-open');
      const built = await kustomizeBuild(join(project.root, 'k8s-open', 'overlays', 'testing'));
      const opened = ofKind<INetworkPolicy>(built, 'NetworkPolicy').filter((p) =>
        p.metadata?.name?.startsWith('published-'),
      );
      expect(opened.length).toBeGreaterThan(0);
      for (const policy of opened) {
        const service = policy.spec?.podSelector?.matchLabels?.['app.kubernetes.io/name'] ?? '';
        const ports = (mainContainer(workloadOf(built, service)).ports ?? []).map((p) => p.containerPort);
        const rule = policy.spec?.ingress?.[0];
        for (const port of rule?.ports ?? []) expect(ports).toContain(port.port);
        expect(rule?.from).toBeUndefined();
      }
    } finally {
      await writeFile(schemaPath, original);
    }
  });

  it('keeps secret.yaml out of git, and preflight --ci finds it when it is committed all the same', async () => {
    await exportEnvironment('development', 'k8s-git');
    const git = (...args: string[]) =>
      execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: project.root });
    await git('init', '-q');
    await git('add', '-A');
    const staged = (await git('ls-files')).stdout.split('\n');
    expect(staged).toContain('k8s-git/overlays/development/kustomization.yaml');
    expect(staged).not.toContain('k8s-git/overlays/development/secret.yaml');
    await git('add', '-f', 'k8s-git/overlays/development/secret.yaml');
    await git('commit', '-qm', 'oops');
    const result = await runCli(['preflight', 'development', '--ci', '--json'], { cwd: project.root });
    const report = JSON.parse(result.stdout) as { checks: { id: string; status: string; message: string }[] };
    expect(report.checks.find((c) => c.id === 'security.tracked')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('k8s-git/overlays/development/secret.yaml') as string,
    });
    await rm(join(project.root, '.git'), { recursive: true, force: true });
  });

  it('with --external-secrets refers to the store and writes no value', async () => {
    const exported = await exportEnvironment('staging', 'k8s-ext', ['--external-secrets', 'vault']);
    const folder = join(project.root, 'k8s-ext');
    const values = await secretValues('staging');
    for (const path of await filesUnder(folder))
      for (const value of values) expect((await readFile(path, 'utf8')).includes(value)).toBe(false);
    const built = await kustomizeBuild(join(folder, 'overlays', 'staging'));
    const [external] = ofKind<IExternalSecret>(built, 'ExternalSecret');
    expect(external?.spec?.secretStoreRef).toEqual({ name: 'vault', kind: 'SecretStore' });
    expect((external?.spec?.data ?? []).map((d) => d.secretKey)).toContain('POSTGRES_PASSWORD');
    expect(built.some((m) => m.kind === 'Secret')).toBe(false);
    for (const manifest of built) await validateManifest(manifest);
    expect(exported.files).not.toContain('overlays/staging/secret.yaml');
  });

  it('refuses --out naming a file, and a namespace longer than Kubernetes allows (issue 32)', async () => {
    await writeFile(join(project.root, 'not-a-folder'), 'x');
    const file = await runCli(['export', 'k8s', 'staging', '--out', 'not-a-folder'], { cwd: project.root });
    expect(file.exitCode).toBe(2);
    expect(file.stderr).toContain('--out not-a-folder is a file; export k8s writes a folder');
    const schemaPath = join(project.root, 'schemas', 'compose-schema.yaml');
    const original = await readFile(schemaPath, 'utf8');
    const longEnv = 'development-with-a-much-longer-name';
    await writeFile(
      schemaPath,
      original.replace(/^ {2}name: (\S+)$/m, `  name: ${'n'.repeat(40)}`).replaceAll('development', longEnv),
    );
    try {
      const long = await runCli(['export', 'k8s', longEnv, '--out', 'k8s-long'], { cwd: project.root });
      expect(long.stderr).toContain(
        `the namespace ${'n'.repeat(40)}-${longEnv} is 76 characters; Kubernetes allows 63`,
      );
      expect(long.exitCode).toBe(2);
      await expect(stat(join(project.root, 'k8s-long'))).rejects.toThrow();
    } finally {
      await writeFile(schemaPath, original);
    }
  });

  it('refuses a store name Kubernetes would refuse, writing nothing', async () => {
    const result = await runCli(
      ['export', 'k8s', 'staging', '--out', 'k8s-bad', '--external-secrets', 'No_Such'],
      {
        cwd: project.root,
      },
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--external-secrets "No_Such"');
    await expect(stat(join(project.root, 'k8s-bad'))).rejects.toThrow();
  });
});

// Runs against the real Docker engine (.ci/install-docker.sh starts one) and real host probes.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fakeNvidiaSmiEnv } from '../helpers/fake-nvidia-smi.js';
import { minimalProject, shippedProject, type TempProject } from '../helpers/project.js';

interface Report {
  environment: string;
  ok: boolean;
  checks: { id: string; status: string; message: string; fix: string }[];
}
const check = (report: Report, id: string) => report.checks.find((c) => c.id === id);

describe('stackctl preflight on this host', () => {
  let project: TempProject & { ports: number[] };
  beforeAll(async () => {
    project = await minimalProject({ pool: ['10.241.0.0/20', '10.241.16.0/20'] });
  });
  afterAll(() => project.remove());

  it('passes when Docker answers and the ports and subnets are free', async () => {
    const result = await runCli(['preflight', 'development', '--json'], { cwd: project.root });
    const report = JSON.parse(result.stdout) as Report;
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(report).toMatchObject({ environment: 'development', ok: true });
    expect(check(report, 'docker.daemon')?.message).toMatch(/^Docker Engine \S+ \(API 1\.\d+\) at /);
    expect(check(report, 'ports')?.message).toBe('all 2 host ports are free');
    for (const c of report.checks) expect(Object.keys(c).sort()).toEqual(['fix', 'id', 'message', 'status']);
  });

  it('fails a port another process holds, naming it and the variable to change', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) =>
      server.listen({ host: '127.0.0.1', port: project.ports[1] }, resolve),
    );
    try {
      const result = await runCli(['preflight', 'development', '--json'], { cwd: project.root });
      expect(result.exitCode).toBe(3);
      const report = JSON.parse(result.stdout) as Report;
      expect(check(report, `port.${project.ports[1]}`)).toEqual({
        id: `port.${project.ports[1]}`,
        status: 'fail',
        message: `port 127.0.0.1:${project.ports[1]}/tcp for api is in use by node (pid ${process.pid})`,
        fix: 'stop what holds it, or set API_PORT to a free port under environments.development.variables',
      });
    } finally {
      server.close();
    }
  });

  it('measures memory and disk where the containers run: a daemon on tcp:// is another host', async () => {
    // The engine, reached over TCP through a proxy to its socket, as a remote daemon would be.
    const proxy = createServer((client) => {
      const engine = connect({ path: '/var/run/docker.sock' });
      client.pipe(engine).pipe(client);
      const close = (): void => {
        client.destroy();
        engine.destroy();
      };
      client.on('error', close);
      engine.on('error', close);
    });
    await new Promise<void>((resolve) => proxy.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (proxy.address() as AddressInfo).port;
    try {
      const result = await runCli(['preflight', 'development', '--json'], {
        cwd: project.root,
        env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` },
      });
      const report = JSON.parse(result.stdout) as Report;
      expect(check(report, 'docker.daemon')?.status).toBe('pass');
      expect(check(report, 'host.memory')).toMatchObject({
        status: 'warn',
        message: expect.stringMatching(
          /^the daemon's host has [\d.]+ GB in all \(its free memory is not known from here\)/,
        ) as string,
      });
      expect(check(report, 'host.disk')).toMatchObject({
        status: 'warn',
        message: expect.stringContaining(
          `the daemon runs on another host (tcp://127.0.0.1:${port})`,
        ) as string,
      });
    } finally {
      proxy.close();
    }
  });

  it('fails a subnet that overlaps an existing Docker network, naming it', async () => {
    const name = `stackctl-test-decoy-${process.pid}`;
    await execa('docker', [
      'network',
      'create',
      '--label',
      'io.stackctl.test=preflight',
      '--subnet',
      '10.241.1.0/24',
      name,
    ]);
    try {
      const result = await runCli(['preflight', 'development', '--json'], { cwd: project.root });
      expect(result.exitCode).toBe(3);
      const report = JSON.parse(result.stdout) as Report;
      expect(check(report, 'network.app-net')).toMatchObject({
        status: 'fail',
        message: `app-net (10.241.1.0/24) overlaps Docker network ${name} (10.241.1.0/24)`,
      });
      expect(check(report, 'network.app-net')?.fix).toContain(`docker network rm ${name}`);
    } finally {
      await execa('docker', ['network', 'rm', name]);
    }
  });

  it('fails with exit 3 when the daemon cannot be reached', async () => {
    const result = await runCli(['preflight', 'development'], {
      cwd: project.root,
      env: { DOCKER_HOST: 'unix:///tmp/stackctl-no-such-docker.sock' },
    });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toMatch(
      /✖ docker\.daemon +cannot reach the Docker daemon at unix:\/\/\/tmp\/stackctl-no-such-docker\.sock/,
    );
    expect(result.stdout).toMatch(/fix: start it/);
  });
});

describe('stackctl preflight with the shipped schema', () => {
  let project: TempProject;
  beforeAll(async () => {
    project = await shippedProject();
  });
  afterAll(() => project.remove());

  it('checks that the PostgreSQL image has the extensions the init script creates (issue 25)', async () => {
    const schemaPath = join(project.root, 'schemas', 'compose-schema.yaml');
    const original = readFileSync(schemaPath, 'utf8');
    const withImage = (image: string) => original.replace('image: pgvector/pgvector:pg16', `image: ${image}`);
    try {
      // An image without pgvector: CREATE EXTENSION vector would stop its first start.
      await writeFile(schemaPath, withImage('stackctl-test/postgres:3'));
      const without = await runCli(['preflight', 'development', '--gpu', 'cpu', '--json'], {
        cwd: project.root,
      });
      expect(without.exitCode).toBe(3);
      expect(check(JSON.parse(without.stdout) as Report, 'extensions.postgres')).toMatchObject({
        status: 'fail',
        message:
          'stackctl-test/postgres:3 has no vector extension, which ./configs/postgres/init.sql creates: PostgreSQL would stop at its first start',
      });
      await writeFile(schemaPath, withImage('stackctl-test/postgres-vector:1'));
      const withVector = await runCli(['preflight', 'development', '--gpu', 'cpu', '--json'], {
        cwd: project.root,
      });
      expect(check(JSON.parse(withVector.stdout) as Report, 'extensions.postgres')).toMatchObject({
        status: 'pass',
        message:
          'stackctl-test/postgres-vector:1 has the extensions ./configs/postgres/init.sql creates (uuid-ossp, vector)',
      });
    } finally {
      await writeFile(schemaPath, original);
    }
  });

  it('checks vm.max_map_count for the ELK stack against the real kernel value', async () => {
    const result = await runCli(['preflight', 'monitoring', '--gpu', 'cpu', '--json'], { cwd: project.root });
    const report = JSON.parse(result.stdout) as Report;
    const value = Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8'));
    expect(check(report, 'host.max_map_count')?.status).toBe(value >= 262144 ? 'pass' : 'fail');
    expect(check(report, 'gpu.profile')?.status).toBe('warn');
  });

  it('plans multi on an NVLink pair and fails without the NVIDIA container runtime', async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt',
      topo: 'topo-2x3090-nv4-01.txt',
    });
    const result = await runCli(['preflight', 'development', '--json'], { cwd: project.root, env });
    expect(result.exitCode).toBe(3);
    const report = JSON.parse(result.stdout) as Report;
    expect(check(report, 'gpu.driver')).toMatchObject({
      status: 'pass',
      message: 'NVIDIA driver 580.105.08',
    });
    expect(check(report, 'gpu.count')?.message).toMatch(
      /^multi profile on GPU 0, 1 \(NVIDIA A100-SXM4-80GB\), tensor parallel 2$/,
    );
    expect(check(report, 'gpu.nvlink')?.status).toBe('pass');
    expect(check(report, 'gpu.toolkit')).toMatchObject({ status: 'fail', fix: /nvidia-container-toolkit/ });
  });

  it('fails --gpu multi on a one-GPU host and names --gpu single', async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-header-gb10-memory-na-01.txt',
      topo: 'topo-1xh100-mig-enabled-ansi-tabs-01.txt',
    });
    const result = await runCli(['preflight', 'production', '--gpu', 'multi'], { cwd: project.root, env });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toMatch(
      /✖ gpu\.count +the multi GPU profile needs two GPUs, and this host has 1\n +fix: use --gpu single/,
    );
  });

  it("takes the environment's gpu.fallback on a one-GPU host, with a warning (a lent H100's real output)", async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-noheader-nounits-1xh100-driver580-01.txt',
      topo: 'topo-1xh100-gpu-numa-id-column-ansi-tabs-01.txt',
    });
    const result = await runCli(['preflight', 'production', '--json'], { cwd: project.root, env });
    const report = JSON.parse(result.stdout) as Report;
    expect(check(report, 'gpu.count')).toMatchObject({
      status: 'pass',
      message: 'single profile on GPU 0 (NVIDIA H100 80GB HBM3), tensor parallel 1',
    });
    expect(check(report, 'gpu.fallback')).toMatchObject({
      status: 'warn',
      message:
        'production prefers the multi GPU profile, but the multi GPU profile needs two GPUs, and this host has 1: using its fallback, single',
    });
  });

  it('reports the driver failure in its own words', async () => {
    const env = await fakeNvidiaSmiEnv({ query: 'error-nvml-driver-library-mismatch-01.txt', queryExit: 18 });
    const result = await runCli(['preflight', 'staging', '--json'], { cwd: project.root, env });
    expect(result.exitCode).toBe(3);
    expect(check(JSON.parse(result.stdout) as Report, 'gpu.driver')).toMatchObject({
      status: 'fail',
      message: 'nvidia-smi failed: Failed to initialize NVML: Driver/library version mismatch',
      fix: /reboot/,
    });
  });
});

describe('stackctl preflight --ci', () => {
  let project: TempProject;
  beforeAll(async () => {
    project = await shippedProject();
    await execa('git', ['init', '-q'], { cwd: project.root });
    await writeFile(
      join(project.root, '.gitignore'),
      '.env.*\n!.env.example\nsecrets/\nk8s-secrets-*.yaml\n',
    );
    expect((await runCli(['generate', 'development'], { cwd: project.root })).exitCode).toBe(0);
  });
  afterAll(() => project.remove());

  it('passes a clean checkout without Docker or GPUs', async () => {
    const result = await runCli(['preflight', 'development', '--ci'], {
      cwd: project.root,
      env: { DOCKER_HOST: 'unix:///tmp/stackctl-no-such-docker.sock' },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toContain('::error');
    expect(result.stdout).toMatch(/✔ security\.tracked/);
    // It says what it checked, and that the host was not.
    expect(result.stdout).toMatch(
      /✔ development: \d+ CI checks passed \(schema, security, generate, secrets\); the host was not checked: run stackctl preflight development on it/,
    );
    expect(result.stdout).not.toContain('host is ready');
  });

  it('fails a tracked env file with a GitHub annotation', async () => {
    await writeFile(join(project.root, '.env.development'), 'POSTGRES_PASSWORD=not-a-real-secret\n');
    await execa('git', ['add', '-f', '.env.development'], { cwd: project.root });
    try {
      const result = await runCli(['preflight', 'development', '--ci'], { cwd: project.root });
      expect(result.exitCode).toBe(3);
      expect(result.stdout).toMatch(
        /^::error title=stackctl security\.tracked::tracked by git: \.env\.development \(fix: /m,
      );
      expect(result.stdout).not.toContain('not-a-real-secret');
    } finally {
      await execa('git', ['rm', '-q', '--cached', '-f', '.env.development'], { cwd: project.root });
      await runCli(['generate', 'development'], { cwd: project.root });
    }
  });

  it('fails when the generated compose files drifted from the schema', async () => {
    const path = join(project.root, 'compose', 'development.override.yml');
    const original = readFileSync(path, 'utf8');
    await writeFile(path, original.replace('10.30.0.0/24', '10.99.0.0/24'));
    try {
      const result = await runCli(['preflight', 'development', '--ci', '--json'], { cwd: project.root });
      expect(result.exitCode).toBe(3);
      expect(check(JSON.parse(result.stdout) as Report, 'generate.drift')).toMatchObject({
        status: 'fail',
        message: 'generated files missing or out of date: compose/development.override.yml',
      });
    } finally {
      await writeFile(path, original);
    }
  });

  it('annotates schema errors with file and line', async () => {
    const schema = join(project.root, 'schemas', 'compose-schema.yaml');
    const text = readFileSync(schema, 'utf8');
    await writeFile(
      schema,
      text.replace('stack: core\n    description: Cache', 'stack: cor\n    description: Cache'),
    );
    try {
      const result = await runCli(['preflight', 'development', '--ci'], { cwd: project.root });
      expect(result.exitCode).toBe(3);
      expect(result.stdout).toMatch(
        /^::error file=schemas\/compose-schema\.yaml,line=\d+,col=\d+,title=services\.redis\.stack::unknown stack "cor" \(did you mean "core"\?\)$/m,
      );
    } finally {
      await writeFile(schema, text);
    }
  });
});

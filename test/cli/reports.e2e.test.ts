// What start, preflight, logs, stop and secrets tell a person (issue 12), against a real engine.
import { execa } from 'execa';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceUrls } from '../../src/cli/actions/start-report.js';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { fakeNvidiaSmiEnv } from '../helpers/fake-nvidia-smi.js';
import { shippedProject, type TempProject } from '../helpers/project.js';
import { inspect, stackProject, type StackProject, storedDbPassword } from '../helpers/stack-project.js';

interface FailedReport {
  ok: boolean;
  failed?: { service: string; reason: string; detail: string };
  preflight?: { id: string; status: string }[];
}

let project: StackProject;
beforeAll(async () => {
  project = await stackProject(244);
});
afterAll(() => project.remove());

const secret = (env: string): Promise<string> => storedDbPassword(project.root, env);

describe('start', () => {
  it('blames the service whose evidence failed, never one that was not started yet', async () => {
    // late waits for bad to be healthy, so it is never started; it comes first in the environment.
    const result = await runCli(['start', 'blame', '--skip-preflight', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as FailedReport & {
      services: { name: string; phase: string }[];
    };
    expect(report.failed).toMatchObject({ service: 'bad', reason: 'unhealthy' });
    expect(report.services.find((s) => s.name === 'late')?.phase).not.toBe('failed');
    const text = await runCli(['start', 'blame', '--skip-preflight'], { cwd: project.root });
    expect(text.stderr).toContain('✖ bad: unhealthy');
    expect(text.stderr).not.toContain('✖ late');
    await runCli(['wipe', 'blame', '--yes'], { cwd: project.root });
  });

  it('takes durations as compose writes them, and refuses what is not one', async () => {
    const ok = await runCli(['start', 'ok', '--dry-run', '--timeout', '1m30s'], { cwd: project.root });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const bad = await runCli(['start', 'ok', '--dry-run', '--timeout', 'soon'], { cwd: project.root });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--timeout "soon" is not a duration');
    const settle = await runCli(['start', 'ok', '--dry-run', '--settle', 'a while'], { cwd: project.root });
    expect(settle.exitCode).toBe(2);
    expect(settle.stderr).toContain('--settle "a while" is not a duration');
  });

  it('--no-wait never shows a tick: nothing was checked', async () => {
    const result = await runCli(['start', 'stuck', '--skip-preflight', '--no-wait'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('✔');
    expect(result.stdout).toMatch(
      /stuck was started in [\d.]+s, not waited for: \d+ of \d+ containers running/,
    );
    await runCli(['wipe', 'stuck', '--yes'], { cwd: project.root });
  });

  it('ends with where the credentials are, and endpoints by what listens', async () => {
    const result = await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`http://localhost:${project.webPort}`);
    expect(result.stdout).toContain(
      'secrets: secrets/.env.ok.json (one value: stackctl secrets get ok NAME)',
    );
    expect(result.stdout).not.toContain(await secret('ok'));
    const port = (containerPort: number) => ({ hostIp: '127.0.0.1', hostPort: 15432, containerPort });
    const container = (containerPort: number) =>
      ({ ports: [port(containerPort)] }) as unknown as Parameters<typeof serviceUrls>[0][number];
    expect(serviceUrls([container(5432)])).toEqual(['postgres://localhost:15432']);
    expect(serviceUrls([container(6379)])).toEqual(['redis://localhost:15432']);
    expect(serviceUrls([container(6334)])).toEqual(['grpc://localhost:15432']);
    expect(serviceUrls([container(8080)])).toEqual(['http://localhost:15432']);
  });

  it('names the container of another environment that holds a port, and how to free it', async () => {
    // chain publishes web on the same host port as ok, which is running.
    const result = await runCli(['preflight', 'chain', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(3);
    const check = (
      JSON.parse(result.stdout) as { checks: { id: string; message: string; fix: string }[] }
    ).checks.find((c) => c.id === `port.${project.webPort}`);
    expect(check?.message).toBe(
      `port 127.0.0.1:${project.webPort}/tcp for web is in use by container ${project.name}-ok-web-1 of ok, another environment of this project`,
    );
    expect(check?.fix).toMatch(/^stop it \(stackctl stop ok\)/);
  });

  it('--dry-run on a host that fails preflight shows the failures, then the plan, and exits 3', async () => {
    const server: Server = createServer();
    const blocked = project.webPort;
    await runCli(['stop', 'ok'], { cwd: project.root });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: blocked }, resolve));
    try {
      const result = await runCli(['start', 'ok', '--dry-run'], { cwd: project.root });
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toMatch(
        new RegExp(`✖ port\\.${blocked} +port 127\\.0\\.0\\.1:${blocked}/tcp for web`),
      );
      expect(result.stderr).toContain('preflight failed; the plan once that is fixed:');
      expect(result.stdout).toContain('Plan for ok');
      expect(result.stdout).toMatch(/docker compose .* up --no-start --no-deps db\n/);
      expect(result.stdout).toMatch(/\[app\] web +after db healthy\n/);
      const json = await runCli(['start', 'ok', '--dry-run', '--json'], { cwd: project.root });
      expect(json.exitCode).toBe(3);
      const plan = JSON.parse(json.stdout) as {
        create: { services: string[] }[];
        graph: { service: string; waitsFor: { service: string; condition: string }[] }[];
        preflight: { id: string; status: string }[];
      };
      expect(plan.create[0]?.services).toEqual(['db']);
      expect(plan.graph.find((node) => node.service === 'web')?.waitsFor).toEqual([
        { service: 'db', condition: 'service_healthy' },
      ]);
      expect(plan.preflight).toContainEqual(
        expect.objectContaining({ id: `port.${blocked}`, status: 'fail' }),
      );
    } finally {
      server.close();
    }
  });

  it('start first-run --dry-run changes nothing, and its --timeout reaches the start', async () => {
    await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    const db = (await inspect(`${project.name}-ok-db-1`)).Id;
    const store = await secret('ok');
    const dry = await runCli(['start', 'first-run', '--dry-run', '--yes'], { cwd: project.root });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Would remove from ok:');
    expect(dry.stdout).toContain('Plan for ok');
    expect((await inspect(`${project.name}-ok-db-1`)).Id).toBe(db);
    expect(await secret('ok')).toBe(store);

    const hurried = await runCli(
      ['start', 'first-run', '--yes', '--timeout', '1ms', '--skip-preflight', '--json'],
      {
        cwd: project.root,
      },
    );
    expect(hurried.exitCode).toBe(1);
    const report = JSON.parse(
      hurried.stdout.slice(hurried.stdout.lastIndexOf('{\n  "environment"')),
    ) as FailedReport;
    expect(report.failed?.reason).toBe('timeout');
  });
});

describe('start with the shipped schema on a one-GPU host', () => {
  let shipped: TempProject;
  beforeAll(async () => {
    shipped = await shippedProject();
  });
  afterAll(() => shipped.remove());

  it('shows preflight warnings (the gpu.fallback the README promises), in text and JSON', async () => {
    const env = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-noheader-nounits-1xh100-driver580-01.txt',
      topo: 'topo-1xh100-gpu-numa-id-column-ansi-tabs-01.txt',
    });
    const text = await runCli(['start', 'production', '--dry-run'], { cwd: shipped.root, env });
    expect(text.stderr).toMatch(/⚠ gpu\.fallback +production prefers the multi GPU profile/);
    const json = await runCli(['start', 'production', '--dry-run', '--json'], { cwd: shipped.root, env });
    const plan = JSON.parse(json.stdout) as { preflight: { id: string; status: string }[] };
    expect(plan.preflight).toContainEqual(expect.objectContaining({ id: 'gpu.fallback', status: 'warn' }));
  });
});

describe('logs, stop, secrets get, completion', () => {
  it('logs of every service, prefixed per container, in time order, with --timestamps and a did-you-mean', async () => {
    expect((await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root })).exitCode).toBe(0);
    const all = await runCli(['logs', 'ok'], { cwd: project.root });
    expect(all.exitCode, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^db-1 +\| db: starting$/m);
    expect(all.stdout).toMatch(/^web-1 +\| web: connecting with password \*\*\*$/m);
    expect(all.stdout).toMatch(/^migrate-1 +\| migrations applied$/m);
    expect(all.stdout.indexOf('db: ready')).toBeLessThan(all.stdout.indexOf('migrations applied'));
    const stamped = await runCli(['logs', 'ok', 'db', '--timestamps'], { cwd: project.root });
    expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z db: starting$/m);
    const recent = await runCli(['logs', 'ok', 'db', '--since', '1h'], { cwd: project.root });
    expect(recent.stdout).toContain('db: starting');
    const future = await runCli(['logs', 'ok', 'db', '--since', '2099-01-01T00:00:00Z'], {
      cwd: project.root,
    });
    expect(future.stdout).toBe('');
    const typo = await runCli(['logs', 'ok', 'wen'], { cwd: project.root });
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('did you mean "web"?');
  });

  it('secrets get prints one value, asked for by name, and nothing else', async () => {
    const result = await runCli(['secrets', 'get', 'ok', 'DB_PASSWORD'], { cwd: project.root });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(await secret('ok'));
    const unknown = await runCli(['secrets', 'get', 'ok', 'DB_PASSWRD'], { cwd: project.root });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('did you mean "DB_PASSWORD"?');
    expect(unknown.stderr).not.toContain(await secret('ok'));
  });

  it('stop -t says which container stopped, as each does', async () => {
    const result = await runCli(['stop', 'ok', '-t', '0'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    for (const service of ['web', 'worker', 'db'])
      expect(result.stderr).toMatch(
        new RegExp(
          `(stopped ${project.name}-ok-${service}-1 in \\d+\\.\\ds|killed ${project.name}-ok-${service}-1 at once \\(-t 0\\))`,
        ),
      );
    expect((await inspect(`${project.name}-ok-db-1`)).State.Status).toBe('exited');
    const bad = await runCli(['stop', 'ok', '-t', 'soon'], { cwd: project.root });
    expect(bad.exitCode).toBe(2);
  });

  it('completion scripts complete commands, subcommands, options and environment names', async () => {
    const bash = await runCli(['completion', 'bash'], { cwd: project.root });
    expect(bash.exitCode).toBe(0);
    const complete = async (words: string[]): Promise<string[]> => {
      const script = [
        bash.stdout,
        `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
        `COMP_CWORD=${words.length - 1}`,
        '_stackctl',
        'printf "%s\\n" "${COMPREPLY[@]}"',
      ].join('\n');
      // The scripts call `stackctl` itself for environment names: put the command under test there.
      const bin = await mkdtemp(join(tmpdir(), 'stackctl-bin-'));
      await symlink(stackctlCommand(), join(bin, 'stackctl'));
      const result = await execa('bash', ['-c', script], {
        cwd: project.root,
        env: { PATH: `${bin}:${process.env['PATH'] ?? ''}` },
      });
      await rm(bin, { recursive: true });
      return result.stdout.split('\n').filter(Boolean).sort();
    };
    expect(await complete(['stackctl', 'sta'])).toEqual(['start', 'status']);
    expect(await complete(['stackctl', 'secrets', ''])).toEqual(
      expect.arrayContaining(['get', 'rotate', 'status']),
    );
    expect(await complete(['stackctl', 'start', '--dr'])).toEqual(['--dry-run']);
    expect(await complete(['stackctl', 'start', ''])).toEqual(
      expect.arrayContaining(['ok', 'stuck', 'chain', 'blame']),
    );
    expect(await complete(['stackctl', 'wipe', 'ok', '--da'])).toEqual(['--data']);
    // After an option that takes a value, its values only; a service where logs expects one.
    expect(await complete(['stackctl', 'start', 'ok', '--gpu', ''])).toEqual([
      'auto',
      'cpu',
      'multi',
      'single',
    ]);
    expect(await complete(['stackctl', 'start', 'ok', '--stack', ''])).toEqual(['app', 'core']);
    expect(await complete(['stackctl', 'start', '--timeout', ''])).toEqual([]);
    const services = await complete(['stackctl', 'logs', 'ok', '']);
    expect(services).toEqual(expect.arrayContaining(['db', 'migrate', 'web', 'worker']));
    expect(services).not.toContain('stuck');
    expect(await complete(['stackctl', 'logs', 'ok', 'web', ''])).not.toContain('db');
    const zsh = await runCli(['completion', 'zsh'], { cwd: project.root });
    expect(zsh.stdout).toContain('bashcompinit');
    const fish = await runCli(['completion', 'fish'], { cwd: project.root });
    expect(fish.stdout).toContain("complete -c stackctl -n '__fish_use_subcommand' -a 'validate start");
    expect(fish.stdout).toContain(
      "complete -c stackctl -n '__fish_seen_subcommand_from start' -a '(stackctl completion --environments 2>/dev/null)'",
    );
    expect(fish.stdout).toContain(
      "complete -c stackctl -n '__fish_seen_subcommand_from start' -l 'gpu' -x -a 'auto multi single cpu'",
    );
    expect((await runCli(['completion', 'tcsh'], { cwd: project.root })).exitCode).toBe(2);
    // A schema being edited (invalid, but still YAML) completes as far as it reads; broken YAML, nothing.
    const schemaPath = join(project.root, 'schemas', 'compose-schema.yaml');
    const schema = await readFile(schemaPath, 'utf8');
    try {
      await writeFile(schemaPath, schema.replace('environments:\n', 'environments:\n  half-typed: {}\n'));
      const editing = await runCli(['completion', '--environments'], { cwd: project.root });
      expect(editing.stdout.split('\n')).toEqual(expect.arrayContaining(['half-typed', 'ok']));
      await writeFile(schemaPath, `${schema}\n  : [unclosed\n`);
      const broken = await runCli(['completion', '--environments'], { cwd: project.root });
      expect([broken.exitCode, broken.stdout]).toEqual([0, '']);
    } finally {
      await writeFile(schemaPath, schema);
    }
  });
});

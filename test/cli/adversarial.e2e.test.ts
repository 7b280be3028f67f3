// What an adversarial pass found (issue 19), each kept as a test that fails without its fix:
// injection through schema text, secret-bearing temp files after kill -9, old secrets in logs,
// rotation racing a start, wrong crash diagnoses, and bad input that hung or crashed.
import { execa } from 'execa';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactor } from '../../src/generate/redact.js';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { minimalProject, type TempProject } from '../helpers/project.js';
import { inspect, lockClaims, stackProject, type StackProject } from '../helpers/stack-project.js';

const GITIGNORE = ['.env', '.env.*', '!.env.example', 'secrets/', 'k8s-secrets-*.yaml', ''].join('\n');

describe('schema text never reaches a generated file unescaped', () => {
  let project: TempProject;
  beforeAll(async () => {
    project = await minimalProject();
  });
  afterAll(() => project.remove());

  it('a newline in a description cannot add a line to .env', async () => {
    const path = join(project.root, 'schemas', 'compose-schema.yaml');
    const schema = (await readFile(path, 'utf8'))
      .replace(
        'POSTGRES_USER: { type: string, description: Database user,',
        'POSTGRES_USER: { type: string, description: "x\\nBIND_ADDRESS=0.0.0.0\\r\\u2028BIND_ADDRESS=0.0.0.0",',
      )
      .replace('description: Local', 'description: "Local\\nBIND_ADDRESS=0.0.0.0"');
    await writeFile(path, schema);
    expect((await runCli(['validate'], { cwd: project.root })).exitCode).toBe(0);
    const result = await runCli(['generate', 'development'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const envFile = await readFile(join(project.root, '.env.development'), 'utf8');
    const bindLines = envFile.split(/\r\n|\r|\n|\u2028/).filter((line) => /^\s*BIND_ADDRESS\s*=/.test(line));
    expect(bindLines).toEqual(['BIND_ADDRESS=127.0.0.1']);
    expect(envFile).toContain('# x\\nBIND_ADDRESS=0.0.0.0\\r\\u2028BIND_ADDRESS=0.0.0.0');
    // What compose itself reads from the file.
    const config = await execa('docker', [
      'compose',
      '--project-directory',
      project.root,
      '--env-file',
      join(project.root, '.env.development'),
      '-f',
      join(project.root, 'compose', 'base.yml'),
      'config',
      '--format',
      'json',
    ]);
    const services = (
      JSON.parse(config.stdout) as { services: Record<string, { ports?: { host_ip?: string }[] }> }
    ).services;
    for (const service of Object.values(services))
      for (const port of service.ports ?? []) expect(port.host_ip).toBe('127.0.0.1');
  });

  it('validate rejects a value with a control character no env file can carry', async () => {
    const path = join(project.root, 'schemas', 'compose-schema.yaml');
    const schema = (await readFile(path, 'utf8')).replace(
      /(POSTGRES_USER: \{ type: string, description: [^,]*, )default: app \}/,
      '$1default: "app\\u0000x" }',
    );
    expect(schema).toContain('default: "app\\u0000x"');
    await writeFile(path, schema);
    const result = await runCli(['validate'], { cwd: project.root });
    expect(result.exitCode).toBe(2);
    expect(result.stdout + result.stderr).toContain('control character U+0000');
  });
});

describe('temporary files of a killed generate', () => {
  let project: TempProject;
  beforeAll(async () => {
    project = await minimalProject();
    await writeFile(join(project.root, '.gitignore'), GITIGNORE);
    await execa('git', ['init', '-q'], { cwd: project.root });
  });
  afterAll(() => project.remove());

  const leftovers = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const folder of ['.', 'secrets', 'compose']) {
      const names = await readdir(join(project.root, folder)).catch(() => [] as string[]);
      for (const name of names) if (/tmp/.test(name)) found.push(join(folder, name));
    }
    return found;
  };

  it('are 0600, ignored by git, reported by preflight --ci and removed by the next run', async () => {
    const seen = new Set<string>();
    for (let run = 0; run < 24; run++) {
      // A fresh store each time, so every run writes secrets.
      await rm(join(project.root, 'secrets'), { recursive: true, force: true });
      await rm(join(project.root, `.env.development`), { force: true });
      const child = execa(stackctlCommand(), ['generate', 'development'], {
        cwd: project.root,
        env: { NO_COLOR: '1' },
        reject: false,
      });
      await new Promise((resolve) => setTimeout(resolve, 100 + ((run * 37) % 250)));
      child.kill('SIGKILL');
      await child;
      for (const path of await leftovers()) {
        seen.add(path);
        // A temporary file never has more permissions than the file it becomes: secret-bearing
        // ones stay 0600 throughout; a compose file may get its final 0644 just before the rename.
        const finalMode = path.startsWith('compose') ? 0o644 : 0o600;
        const mode = (await stat(join(project.root, path))).mode & 0o777;
        expect(mode & ~finalMode, `${path}: mode ${mode.toString(8)}`).toBe(0);
      }
    }
    // A leftover of a process that no longer runs, as a kill -9 leaves it (whatever the runs above hit).
    const planted = join('secrets', `.env.development.json.${2 ** 22 + 9}-0123456789ab.stackctl-tmp.json`);
    await mkdir(join(project.root, 'secrets'), { recursive: true, mode: 0o700 });
    await writeFile(join(project.root, planted), '{"secrets":{}}', { mode: 0o600 });
    const plantedEnv = `.env.development.${2 ** 22 + 9}-abcdef012345.stackctl-tmp`;
    await writeFile(join(project.root, plantedEnv), 'POSTGRES_PASSWORD=x\n', { mode: 0o600 });
    // Those that carry secrets (env files, the store) are ignored by the rules that ignore their
    // targets; a compose file's (committed, no secret in it) is only removed by the next run.
    const all = [...new Set([...seen, ...(await leftovers())])].filter((path) => !path.startsWith('compose'));
    const ignored = await execa('git', ['check-ignore', '--no-index', ...all], {
      cwd: project.root,
      reject: false,
    });
    expect(ignored.stdout.split('\n').filter(Boolean).sort()).toEqual(
      all.map((path) => path.replace(/^\.\//, '')).sort(),
    );

    const ci = await runCli(['preflight', 'development', '--ci', '--json'], { cwd: project.root });
    const check = (
      JSON.parse(ci.stdout) as { checks: { id: string; status: string; message: string }[] }
    ).checks.find((c) => c.id === 'security.leftovers');
    expect(check?.status).toBe('fail');
    expect(check?.message).toContain(planted);
    expect(check?.message).toContain(plantedEnv);

    const again = await runCli(['generate', 'development'], { cwd: project.root });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await leftovers()).toEqual([]);
  }, 120_000);
});

describe('bad input gets one clear line and its exit code', () => {
  let project: TempProject;
  beforeAll(async () => {
    project = await minimalProject();
  });
  afterAll(() => project.remove());

  it('a FIFO as the schema or as the secret store is refused, not read forever', async () => {
    const fifo = join(project.root, 'schema.fifo');
    await execa('mkfifo', [fifo]);
    const schema = await runCli(['validate', '--schema', fifo], { cwd: project.root });
    expect(schema.exitCode).toBe(2);
    expect(schema.stderr).toContain('is a FIFO (named pipe), not a file');

    await mkdir(join(project.root, 'secrets'), { recursive: true, mode: 0o700 });
    await execa('mkfifo', [join(project.root, 'secrets', '.env.development.json')]);
    const store = await runCli(['secrets', 'status', 'development'], { cwd: project.root });
    expect(store.exitCode).toBe(2);
    expect(store.stderr).toContain('.env.development.json is a FIFO (named pipe), not a file');
    await rm(join(project.root, 'secrets'), { recursive: true });
  });

  it('.env.<env> that is a folder', async () => {
    await mkdir(join(project.root, '.env.staging'));
    const result = await runCli(['generate', 'staging'], { cwd: project.root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('.env.staging is a folder, not a file');
    expect(result.stderr).not.toContain('unexpected');
    await rm(join(project.root, '.env.staging'), { recursive: true });
  });

  it('a DOCKER_HOST no Docker understands', async () => {
    const result = await runCli(['status'], { cwd: project.root, env: { DOCKER_HOST: 'garbage://x' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('DOCKER_HOST "garbage://x" is not an address Docker understands');
    const unresolvable = await runCli(['status'], {
      cwd: project.root,
      env: { DOCKER_HOST: 'tcp://no-such-host.invalid:2375' },
    });
    expect(unresolvable.exitCode).toBe(1);
    expect(unresolvable.stderr).toContain('no host named "no-such-host.invalid"');
    expect(unresolvable.stderr).not.toContain('unexpected');
  });

  it('a UTF-16 schema, and binary input to gpu topology', async () => {
    const utf16 = join(project.root, 'utf16.yaml');
    const text = await readFile(join(project.root, 'schemas', 'compose-schema.yaml'), 'utf8');
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const schema = await runCli(['validate', '--schema', utf16], { cwd: project.root });
    expect(schema.exitCode).toBe(2);
    expect(schema.stderr).toContain('is UTF-16 text');
    expect(schema.stderr.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);

    const binary = join(project.root, 'topo.bin');
    await writeFile(binary, Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x00, 0xff, 0x07, 0x41, 0x0a, 0x9b]));
    const topology = await runCli(['gpu', 'topology', '--input', binary], { cwd: project.root });
    expect(topology.exitCode).toBe(2);
    expect(topology.stderr).toContain('is binary data');
    // eslint-disable-next-line no-control-regex
    expect(topology.stderr).not.toMatch(/[\u0000\u0007\u001b\u009b]/);
  });

  it('secrets rotate --type with an unknown type is a usage error', async () => {
    expect((await runCli(['generate', 'development'], { cwd: project.root })).exitCode).toBe(0);
    const result = await runCli(['secrets', 'rotate', 'development', '--type', 'bogus', '--yes'], {
      cwd: project.root,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('"bogus" is not a secret type');
    expect(result.stderr).toContain('database_password');
  });
});

describe('redaction', () => {
  it('redacts every line of a multi-line secret', () => {
    const key = '-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END KEY-----';
    const redact = redactor([key]);
    expect(redact('loaded MIIBOgIBAAJBAKj34GkxFhD9 from disk')).toBe('loaded *** from disk');
    expect(redact(key)).toBe('***');
  });
});

describe('against a running environment', () => {
  let project: StackProject;
  beforeAll(async () => {
    project = await stackProject(247);
  });
  afterAll(() => project.remove());

  const store = async (): Promise<string> => readFile(join(project.root, 'secrets', '.env.ok.json'), 'utf8');
  const password = async (): Promise<string> =>
    (JSON.parse(await store()) as { secrets: { DB_PASSWORD: { value: string } } }).secrets.DB_PASSWORD.value;

  it('secrets rotate waits its turn: it cannot run while a start holds the environment', async () => {
    expect((await runCli(['generate', 'ok'], { cwd: project.root })).exitCode).toBe(0);
    const before = await store();
    const start = execa(stackctlCommand(), ['start', 'ok', '--skip-preflight'], {
      cwd: project.root,
      env: { NO_COLOR: '1' },
      reject: false,
    });
    await expect.poll(async () => (await lockClaims(project.root, 'ok')).length, { timeout: 10_000 }).toBe(1);
    const rotate = await runCli(['secrets', 'rotate', 'ok', '--name', 'DB_PASSWORD', '--yes'], {
      cwd: project.root,
    });
    expect(rotate.exitCode).toBe(4);
    expect(rotate.stderr).toContain('locked by `stackctl start ok`');
    expect(await store()).toBe(before);
    expect((await start).exitCode).toBe(0);
  });

  it('logs redact the old value after a rotation, while containers still run with it', async () => {
    const old = await password();
    const rotate = await runCli(['secrets', 'rotate', 'ok', '--name', 'DB_PASSWORD', '--yes'], {
      cwd: project.root,
    });
    expect(rotate.exitCode, rotate.stderr).toBe(0);
    expect(await password()).not.toBe(old);
    const logs = await runCli(['logs', 'ok', 'web'], { cwd: project.root });
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toContain('web: connecting with password ***');
    expect(logs.stdout).not.toContain(old);
  });

  it('a service that turns healthy and dies 2 s later is a failure, not "up"', async () => {
    const result = await runCli(['start', 'flaky', '--skip-preflight', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as {
      failed?: { service: string; reason: string; detail: string };
    };
    expect(report.failed?.service).toBe('flaky');
    expect(report.failed?.reason).toMatch(/crash-looping|exited/);
    expect(report.failed?.detail).toContain('exited with code 1');
    expect(report.failed?.detail).toContain('after it was ready');
  });

  it('a crash loop under a restart policy names the exit code from the die events, not the healthcheck', async () => {
    const result = await runCli(['start', 'looping', '--skip-preflight', '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as {
      failed?: { service: string; reason: string; detail: string };
    };
    expect(report.failed).toMatchObject({ service: 'looper', reason: 'crash-looping' });
    // The code as Docker's die event gave it, or inspect while it restarts; which one is said.
    expect(report.failed?.detail).toMatch(/exited with code 3 \((Docker's die event|docker inspect)\)/);
    expect(report.failed?.detail).not.toContain('healthcheck');
  });

  it("start's own probe runs the healthcheck the user overlay set, not the schema's", async () => {
    await runCli(['stop', 'ok'], { cwd: project.root });
    await writeFile(
      join(project.root, 'compose', 'local.override.yml'),
      [
        'services:',
        '  web:',
        '    healthcheck:',
        "      test: ['CMD-SHELL', 'echo overlay check fails; exit 1']",
        '      interval: 1s',
        '      start_period: 0s',
        '      start_interval: 250ms',
        '      retries: 2',
        '',
      ].join('\n'),
    );
    const result = await runCli(['start', 'ok', '--skip-preflight', '--json'], { cwd: project.root });
    await rm(join(project.root, 'compose', 'local.override.yml'));
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as {
      failed?: { service: string; reason: string };
      lastHealthcheck?: string;
    };
    expect(report.failed).toMatchObject({ service: 'web', reason: 'unhealthy' });
    expect(report.lastHealthcheck).toContain('overlay check fails');
    expect((await inspect(`${project.name}-ok-web-1`)).State.Health?.Status).toBe('unhealthy');
  });
});

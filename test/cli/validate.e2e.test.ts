import { mkdtemp, mkdir, copyFile, readdir, readFile, stat, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { SHIPPED_SCHEMA } from '../helpers/paths.js';

let project: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'stackctl-validate-'));
  await mkdir(join(project, 'schemas'));
  await mkdir(join(project, 'deep', 'inside'), { recursive: true });
  await copyFile(SHIPPED_SCHEMA, join(project, 'schemas', 'compose-schema.yaml'));
});

afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

describe('stackctl validate', () => {
  it('finds schemas/compose-schema.yaml from a subfolder and reports it valid', async () => {
    const result = await runCli(['validate'], { cwd: join(project, 'deep', 'inside') });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('is valid (31 services, 7 environments)');
  });

  it('prints file:line:col path: message (hint), with no colour under NO_COLOR', async () => {
    const broken = join(project, 'typo.yaml');
    const text = (await import('node:fs')).readFileSync(SHIPPED_SCHEMA, 'utf8');
    await writeFile(
      broken,
      text.replace('litellm: { condition: service_started }', 'litelm: { condition: service_started }'),
    );
    const result = await runCli(['validate', '--schema', 'typo.yaml'], { cwd: project });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(
      /^typo\.yaml:\d+:\d+ services\.[a-z-]+\.depends_on\.litelm: unknown service "litelm" \(did you mean "litellm"\?\)$/m,
    );
    expect(result.stdout + result.stderr).not.toContain('\u001b[');
  });

  it('reads an unchanged schema’s result back from its cache (0600 in 0700), never a changed one’s', async () => {
    const cache = join(project, 'cache');
    // The program's own cache: without bin/stackctl's (which could print a run back unrun).
    const env = { STACKCTL_CACHE_DIR: cache, STACKCTL_CODE_CACHE: '0' };
    const text = (await import('node:fs')).readFileSync(SHIPPED_SCHEMA, 'utf8');
    const schema = join(project, 'cached.yaml');
    await writeFile(
      schema,
      text.replace('litellm: { condition: service_started }', 'litelm: { condition: service_started }'),
    );
    const first = await runCli(['validate', '--schema', 'cached.yaml'], { cwd: project, env });
    expect(first.exitCode).toBe(2);
    const entries = await readdir(join(cache, 'validate'));
    expect(entries).toHaveLength(1);
    expect((await stat(join(cache, 'validate'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(cache, 'validate', entries[0] ?? ''))).mode & 0o777).toBe(0o600);
    // The same text again: the same report, and no new entry.
    const again = await runCli(['validate', '--schema', 'cached.yaml'], { cwd: project, env });
    expect(again).toEqual(first);
    expect(await readdir(join(cache, 'validate'))).toHaveLength(1);
    // What is read is the entry: a changed entry changes the report (it is not parsed again)...
    const entry = join(cache, 'validate', entries[0] ?? '');
    const recorded = JSON.parse(await readFile(entry, 'utf8')) as { issues: { message: string }[] };
    recorded.issues[0]!.message = 'from the cache';
    await writeFile(entry, JSON.stringify(recorded));
    expect((await runCli(['validate', '--schema', 'cached.yaml'], { cwd: project, env })).stdout).toContain(
      'from the cache',
    );
    // ...and the fixed schema is validated afresh, under its own digest.
    await writeFile(schema, text);
    const fixed = await runCli(['validate', '--schema', 'cached.yaml'], { cwd: project, env });
    expect(fixed.exitCode).toBe(0);
    expect(await readdir(join(cache, 'validate'))).toHaveLength(2);
  });

  it('checks one environment with --env and rejects an unknown one with a suggestion', async () => {
    expect((await runCli(['validate', '--env', 'production'], { cwd: project })).exitCode).toBe(0);
    const result = await runCli(['validate', '--env', 'prodution'], { cwd: project });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('unknown environment "prodution"');
    expect(result.stderr).toContain('did you mean "production"?');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 with one clear line for a missing schema file', async () => {
    const result = await runCli(['validate', '--schema', 'nope.yaml'], { cwd: project });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^error: schema file nope\.yaml does not exist\n {2}hint: /);
  });

  it('exits 2 with one clear line when the working folder was removed under it', async () => {
    const folder = join(project, 'removed');
    for (const args of [['validate'], ['status'], ['generate', '--all']]) {
      const result = await execa(
        'sh',
        [
          '-c',
          'mkdir "$1" && cd "$1" && rmdir "$1" && shift && exec "$@"',
          'sh',
          folder,
          stackctlCommand(),
          ...args,
        ],
        { reject: false },
      );
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toBe(
        'error: the working folder no longer exists\n  hint: cd into an existing folder and run stackctl again',
      );
    }
  });

  it('exits 2 when no schema is found upward', async () => {
    const result = await runCli(['validate'], { cwd: tmpdir() });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('no schemas/compose-schema.yaml');
  });

  it('exits 2 for a folder given as the schema', async () => {
    const result = await runCli(['validate', '--schema', 'schemas'], { cwd: project });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('is a folder');
  });

  it('prints one JSON document with --json', async () => {
    const result = await runCli(['validate', '--json'], { cwd: project });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ valid: true, issues: [] });
  });
});

describe('stackctl (global behaviour)', () => {
  it('--version names the version and the schema format', async () => {
    const result = await runCli(['--version']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toMatch(/^stackctl \d+\.\d+\.\d+ \(schema format 1\)$/);
  });

  it('--help lists commands, examples and exit codes', async () => {
    const result = await runCli(['--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Examples:');
    expect(result.stdout).toMatch(/Exit codes:[\s\S]*130 +interrupted/);
  });

  it('stops quietly when its reader goes away (a pipe into head)', async () => {
    const result = await execa('bash', ['-c', `"${stackctlCommand()}" --help | head -1`], { reject: false });
    expect(result.stdout).toBe('Usage: stackctl [options] [command]');
    expect(result.stderr).toBe('');
  });

  it('every command and subcommand has --help with examples', async () => {
    const listCommands = (help: string): string[] =>
      [...help.matchAll(/^ {2}([a-z][a-z-]*)(?: \[options\])?(?: [<[][^\n]*?)?\s{2,}/gm)]
        .map((match) => match[1] ?? '')
        .filter((name) => name !== 'help');
    const top = listCommands((await runCli(['--help'])).stdout);
    expect(top).toEqual(
      expect.arrayContaining([
        'validate',
        'start',
        'stop',
        'status',
        'logs',
        'generate',
        'secrets',
        'preflight',
        'gpu',
        'wipe',
        'network',
        'clean',
      ]),
    );
    const all: string[][] = [];
    for (const command of top) {
      const help = await runCli([command, '--help']);
      expect(help.exitCode, command).toBe(0);
      all.push([command]);
      for (const sub of listCommands(help.stdout)) all.push([command, sub]);
    }
    expect(all).toContainEqual(['gpu', 'configure']);
    expect(all).toContainEqual(['secrets', 'rotate']);
    expect(all).toContainEqual(['network', 'cleanup']);
    for (const path of all) {
      const result = await runCli([...path, '--help']);
      expect(result.exitCode, path.join(' ')).toBe(0);
      expect(result.stdout, path.join(' ')).toContain('Examples:');
    }
  });

  it('says in one line when the Docker daemon cannot be reached, for every Docker command', async () => {
    const env = { DOCKER_HOST: 'unix:///tmp/stackctl-no-such.sock' };
    for (const args of [
      ['status'],
      ['stop', 'testing'],
      ['wipe', 'testing', '--dry-run'],
      ['clean'],
      ['network', 'check'],
    ]) {
      const result = await runCli(args, { env });
      expect(result.exitCode, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toBe(
        'error: cannot reach the Docker daemon at /tmp/stackctl-no-such.sock (ENOENT)\n' +
          '  hint: start Docker (sudo systemctl start docker) or point DOCKER_HOST at a running daemon',
      );
    }
  });

  it('reaches an ssh:// DOCKER_HOST over ssh (ssh2 is bundled and loaded on first use)', async () => {
    // Port 1 refuses connections: the ssh client's connect attempt is what fails.
    const result = await runCli(['status', '--verbose'], {
      env: { DOCKER_HOST: 'ssh://nobody@127.0.0.1:1' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('error: cannot reach the Docker daemon at 127.0.0.1 (ECONNREFUSED)');
    expect(result.stderr).toContain('connect ECONNREFUSED 127.0.0.1:1');
  });

  it('exits 2 on an unknown command or option, with a suggestion', async () => {
    const unknownCommand = await runCli(['valdate']);
    expect(unknownCommand.exitCode).toBe(2);
    expect(unknownCommand.stderr).toContain('validate');
    const unknownOption = await runCli(['validate', '--jsn']);
    expect(unknownOption.exitCode).toBe(2);
    expect(unknownOption.stderr).toContain('--json');
  });
});

// What a person sees on a real terminal (tmux panes, `script`): Ctrl-C during a spinner, a terminal
// that reports no width, and the wipe prompt's answers. Pipes alone hide raw mode and width bugs.
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { inspect, lockClaims, stackProject, type StackProject } from '../helpers/stack-project.js';
import { Terminal } from '../helpers/terminal.js';

let project: StackProject;
const terminals: Terminal[] = [];

beforeAll(async () => {
  project = await stackProject(245);
});
afterEach(async () => {
  for (const terminal of terminals.splice(0)) await terminal.close();
});
afterAll(() => project.remove());

async function open(args: string[], options: { columns?: number } = {}): Promise<Terminal> {
  const terminal = await Terminal.open([stackctlCommand(), ...args], { cwd: project.root, ...options });
  terminals.push(terminal);
  return terminal;
}

const lockGone = async (env: string): Promise<boolean> => (await lockClaims(project.root, env)).length === 0;

describe('Ctrl-C', () => {
  it('stops a start while its spinner runs: exit 130 within a second, lock released, what is left said', async () => {
    // stuck never turns healthy: start would wait minutes.
    const terminal = await open(['start', 'stuck', '--skip-preflight']);
    // The spinner names the phase, what is pending (not what changed last) and the time so far.
    await terminal.waitFor(/Waiting for: stuck \(1\/2 ready, \d+s\)/);
    expect(await terminal.exitCode()).toBeUndefined();
    const pressed = Date.now();
    await terminal.send('C-c');
    const code = await terminal.exitCode(5000);
    expect(code).toBe(130);
    expect(Date.now() - pressed).toBeLessThan(1500);
    const screen = await terminal.screen();
    expect(screen).toContain('start of stuck interrupted: core is up; app partly created or started');
    expect(screen).toContain('stackctl stop stuck');
    expect(screen).not.toContain('unexpected');
    expect(await lockGone('stuck')).toBe(true);
    expect((await inspect(`${project.name}-stuck-db-1`)).State.Status).toBe('running');
    await runCli(['stop', 'stuck'], { cwd: project.root });
  });

  it('a second Ctrl-C leaves at once, even while the first is still being handled', async () => {
    // Reading the topology from the terminal: nothing answers the first Ctrl-C's cancellation.
    const terminal = await open(['gpu', 'topology', '--input', '-']);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await terminal.send('C-c');
    await terminal.send('C-c');
    expect(await terminal.exitCode(1000)).toBe(130);
  });
});

describe('terminal width', () => {
  it('a terminal that reports 0 columns gets plain progress lines, and the command ends', async () => {
    const result = await execa(
      'script',
      ['-q', '-e', '-c', `stty cols 0; ${stackctlCommand()} start ok --skip-preflight`, '/dev/null'],
      {
        cwd: project.root,
        env: { TERM: 'xterm', NO_COLOR: '', CI: undefined },
        reject: false,
        timeout: 60_000,
      },
    );
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBeLessThan(20_000);
    expect(result.stdout).toContain('is up and healthy');
    await runCli(['stop', 'ok'], { cwd: project.root });
  });

  it('on a normal terminal, start shows a spinner with a count and leaves a line per ready stack', async () => {
    const terminal = await open(['start', 'ok', '--skip-preflight'], { columns: 100 });
    expect(await terminal.exitCode(60_000)).toBe(0);
    const screen = await terminal.screen();
    // migrate may count already: a job that completed earlier with this configuration is ready.
    expect(screen).toMatch(/✔ core ready in \d+\.\ds \([12]\/4 ready\)/);
    expect(screen).toMatch(/✔ app ready in \d+\.\ds \(4\/4 ready\)/);
    // A line per service on a terminal too, not only when piped.
    expect(screen).toMatch(/^web: healthy.* \(\d+\.\ds\) \[\d\/4 ready\]$/m);
    expect(screen).toMatch(/^worker: .* \[\d\/4 ready\]$/m);
  });

  it('Ctrl-C in the settle window leaves a line saying what runs', async () => {
    const terminal = await open(['start', 'ok', '--skip-preflight', '--settle', '60s'], { columns: 120 });
    await terminal.waitFor('Checking that every service stays up', 60_000);
    await terminal.send('C-c');
    expect(await terminal.exitCode(5000)).toBe(130);
    expect(await terminal.screen()).toContain(
      'start of ok interrupted while checking that every service stays up: all 4 were ready and are left running',
    );
  });

  it('secrets rotate names the services it will recreate before it asks', async () => {
    const terminal = await open(['secrets', 'rotate', 'ok', '--name', 'DB_PASSWORD'], { columns: 200 });
    await terminal.waitFor('Type "yes" to go on:');
    const screen = await terminal.screen();
    expect(screen).toContain(
      'Rotate 1 secret of ok (DB_PASSWORD)? This recreates db, web (running, they use it).',
    );
    await terminal.send('no', 'Enter');
    expect(await terminal.exitCode(2000)).toBe(4);
    const rotated = await runCli(['secrets', 'rotate', 'ok', '--name', 'DB_PASSWORD', '--yes'], {
      cwd: project.root,
    });
    expect(rotated.exitCode, rotated.stderr).toBe(0);
    expect(rotated.stderr).not.toContain('preflight skipped');
    await runCli(['stop', 'ok'], { cwd: project.root });
  });
});

describe('compose output on a terminal', () => {
  it("shows compose's build lines as they come, above the spinner", async () => {
    await mkdir(join(project.root, 'services', 'hello'), { recursive: true });
    await writeFile(
      join(project.root, 'services', 'hello', 'Dockerfile'),
      'FROM stackctl-test/busybox:1\nRUN echo hello-build-marker && sleep 4\n',
    );
    const terminal = await open(['start', 'built', '--skip-preflight'], { columns: 160 });
    try {
      // While compose builds, the spinner says so (not "waiting").
      await terminal.waitFor(/Creating: .*hello.* \(\d\/2 ready, \d+s\)/, 60_000);
      expect(await terminal.exitCode(90_000)).toBe(0);
      const screen = await terminal.screen();
      expect(screen).toMatch(/^#\d+ .*RUN echo hello-build-marker/m);
      expect(screen).toMatch(/✔ app ready in/);
    } finally {
      await runCli(['wipe', 'built', '--yes'], { cwd: project.root });
      await execa('docker', ['image', 'rm', '-f', `${project.name}-built-hello`], { reject: false });
    }
    // As long as the waits above allow: a build on a busy engine takes more than the default 30 s.
  }, 180_000);
});

describe('the wipe prompt', () => {
  it('Ctrl-C leaves quietly with 130; Ctrl-D and "no" change nothing with 4', async () => {
    expect((await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root })).exitCode).toBe(0);
    const before = (await inspect(`${project.name}-ok-db-1`)).Id;

    const interrupted = await open(['wipe', 'ok']);
    await interrupted.waitFor('Type "yes" to go on:');
    await interrupted.send('C-c');
    expect(await interrupted.exitCode(2000)).toBe(130);
    const quiet = await interrupted.screen();
    expect(quiet).not.toContain('error');
    expect(quiet).not.toContain('unexpected');

    const ended = await open(['wipe', 'ok']);
    await ended.waitFor('Type "yes" to go on:');
    await ended.send('C-d');
    expect(await ended.exitCode(2000)).toBe(4);
    expect(await ended.screen()).toContain('not confirmed (end of input); nothing changed');

    const declined = await open(['wipe', 'ok']);
    await declined.waitFor('Type "yes" to go on:');
    await declined.send('no', 'Enter');
    expect(await declined.exitCode(2000)).toBe(4);
    const said = await declined.screen();
    expect(said).toContain('cancelled, nothing changed');
    expect(said).not.toContain('type yes');

    expect((await inspect(`${project.name}-ok-db-1`)).Id).toBe(before);
  });
});

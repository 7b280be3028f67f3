// stackctl top on a real terminal (tmux) against real containers (issue 30): services grouped by
// stack with health and the reason for anything not healthy, restarts, CPU and memory; the GPUs and
// their NVLinks from nvidia-smi (a fake on PATH printing real outputs of a 2x RTX 3090 machine);
// logs of every service with a filter; the docker commands behind the screen; restart from a key;
// resizing down to 60 columns; the refresh budget counted at the Docker socket; and the terminal
// left as it was on q, Ctrl-C and SIGTERM.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { dockerProxy } from '../helpers/docker-proxy.js';
import { fakeNvidiaSmiEnv } from '../helpers/fake-nvidia-smi.js';
import { inspect, stackProject, type StackProject } from '../helpers/stack-project.js';
import { Terminal } from '../helpers/terminal.js';

let project: StackProject;
const ENV = 'watched';

async function gpuEnv(log: string): Promise<Record<string, string>> {
  return {
    ...(await fakeNvidiaSmiEnv({
      other: 'smi-table-2x3090-driver560-01.txt',
      topo: 'topo-2x3090-nv4-01.txt',
    })),
    FAKE_SMI_LOG: log,
  };
}

async function openTop(env: Record<string, string>, columns = 110, rows = 32): Promise<Terminal> {
  return Terminal.open([stackctlCommand(), 'top', ENV], { cwd: project.root, env, columns, rows });
}

/** The pid of the stackctl process a terminal runs (not tmux's or the shell's). */
async function topPid(): Promise<number> {
  const listed = await execa('ps', ['-eo', 'pid=,comm=,args=']);
  const line = listed.stdout.split('\n').find((entry) => {
    const [, comm = ''] = entry.trim().split(/\s+/);
    return / top watched$/.test(entry) && comm !== 'sh' && !comm.startsWith('tmux');
  });
  const pid = Number(line?.trim().split(/\s+/)[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no stackctl top process in:\n${listed.stdout}`);
  return pid;
}

beforeAll(async () => {
  project = await stackProject(240, (schema) =>
    schema.replace('environments:\n', () =>
      [
        'environments:',
        '  watched:',
        '    description: Healthy, starting, and a web server',
        '    gpu: { required: false, profile: cpu }',
        '    memoryMinimumGb: 0.1',
        '    diskMinimumGb: 0.1',
        '    addressPool: 10.240.208.0/20',
        '    services: [db, web, stuck]',
        '',
      ].join('\n'),
    ),
  );
  const started = await runCli(['start', ENV, '--skip-preflight', '--no-wait'], { cwd: project.root });
  expect(started.exitCode, started.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await project.remove();
});

describe('stackctl top', () => {
  it('shows services by stack, health with its reason, resources, GPUs and NVLink, and the logs', async () => {
    const terminal = await openTop(await gpuEnv(join(tmpdir(), `smi-${String(process.pid)}-a.log`)));
    try {
      const screen = await terminal.waitFor(/db-1\s+running\s+healthy\s+0\s+\d+\.\d/, 20_000);
      const lines = screen.split('\n');
      // Grouped by stack: app's containers under "app", core's under "core".
      const at = (text: string): number => lines.findIndex((line) => line.includes(text));
      expect(at('app')).toBeLessThan(at('web-1'));
      expect(at('core')).toBeLessThan(at('db-1'));
      expect(at('core')).toBeGreaterThan(at('web-1'));
      expect(screen).toMatch(/stuck-1\s+running\s+starting/);
      expect(screen).toMatch(/ {4}starting: exit 1: still not ready: \/tmp\/never is missing/);
      expect(screen).toContain('GPU0 NVIDIA GeForce RTX 3090  util 0%  mem 2/24576 MiB  30°C  30 W');
      expect(screen).toContain('GPU1 NVIDIA GeForce RTX 3090');
      expect(screen).toContain('NVLink: GPU0-GPU1 NV4');
      expect(screen).toMatch(/db-1\s+\| db: ready/);
      // Memory in MiB with the limit at this width.
      expect(screen).toMatch(/MEM\/LIMIT MiB/);
    } finally {
      await terminal.close();
    }
  }, 60_000);

  it('asks Docker once for the containers and once for stats per refresh, and nvidia-smi once', async () => {
    const proxy = await dockerProxy();
    const log = join(tmpdir(), `smi-${String(process.pid)}-b.log`);
    const terminal = await openTop({ ...(await gpuEnv(log)), DOCKER_HOST: proxy.host });
    try {
      await terminal.waitFor(/db-1\s+running\s+healthy\s+0\s+\d+\.\d/, 20_000);
      const began = Date.now();
      const before = proxy.requests.filter((request) => /\/containers\/json\?/.test(request)).length;
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const seconds = (Date.now() - began) / 1000;
      await terminal.send('q');
      expect(await terminal.exitCode(10_000)).toBe(0);
      const lists = proxy.requests.filter((request) => /\/containers\/json\?/.test(request)).length - before;
      const stats = proxy.requests.filter((request) => /\/stats\?stream=false/.test(request)).length;
      const allLists = lists + before;
      // About one refresh a second: never more, and it did refresh.
      expect(lists).toBeGreaterThanOrEqual(3);
      expect(lists).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
      // One stats answer per running container (3) per refresh, never more.
      expect(stats).toBeLessThanOrEqual(allLists * 3);
      expect(stats).toBeGreaterThanOrEqual((allLists - 1) * 3);
      const smiCalls = (await readFile(log, 'utf8')).split('\n').slice(0, -1);
      expect(smiCalls.filter((call) => call === 'topo -m')).toHaveLength(1);
      expect(smiCalls.filter((call) => call === '').length).toBeLessThanOrEqual(allLists);
      expect(smiCalls.filter((call) => call !== '' && call !== 'topo -m')).toEqual([]);
    } finally {
      await terminal.close();
      await proxy.close();
    }
  }, 60_000);

  it('filters the logs, shows the docker commands, restarts a service on r then y', async () => {
    const terminal = await openTop(await gpuEnv(join(tmpdir(), `smi-${String(process.pid)}-c.log`)));
    try {
      await terminal.waitFor(/web-1\s+\| web: connecting/, 20_000);
      await terminal.send('/');
      await terminal.send('-l', 'db:');
      await terminal.waitFor('/db:_');
      await terminal.send('Enter');
      const filtered = await terminal.waitFor('filter /db:/');
      expect(filtered).toMatch(/db-1\s+\| db: ready/);
      expect(filtered).not.toMatch(/\| web: connecting/);
      // The secret web prints is never on the screen.
      expect(filtered).not.toMatch(/connecting with password [A-Za-z0-9]{8}/);

      // app's rows come first, by name: stuck-1, then web-1. web-1's docker commands.
      await terminal.send('j');
      await terminal.send('d');
      const commands = await terminal.waitFor(`docker restart ${project.name}-${ENV}-web-1`);
      expect(commands).toContain(`docker logs -f --tail 50 ${project.name}-${ENV}-web-1`);
      expect(commands).toContain(`docker stats --no-stream ${project.name}-${ENV}-web-1`);

      const startedAt = (await inspect(`${project.name}-${ENV}-web-1`)).State.StartedAt;
      await terminal.send('r');
      await terminal.waitFor('restart web? y/n');
      await terminal.send('y');
      await terminal.waitFor('restarted web (1 container)', 30_000);
      expect((await inspect(`${project.name}-${ENV}-web-1`)).State.StartedAt).not.toBe(startedAt);
    } finally {
      await terminal.close();
    }
  }, 90_000);

  it('redraws on resize and fits 60 columns', async () => {
    const terminal = await openTop(await gpuEnv(join(tmpdir(), `smi-${String(process.pid)}-d.log`)));
    try {
      await terminal.waitFor(/db-1\s+running/, 20_000);
      await terminal.resize(60, 24);
      await terminal.waitFor(/db-1\s+running\s+healthy\s+\d/);
      const lines = await terminal.visibleLines();
      expect(lines.length).toBe(24);
      for (const line of lines) expect([...line].length).toBeLessThanOrEqual(60);
      const screen = lines.join('\n');
      expect(screen).toMatch(/web-1\s+running/);
      expect(screen).toMatch(/stuck-1\s+running\s+starting/);
      expect(screen).toContain('CPU%');
    } finally {
      await terminal.close();
    }
  }, 60_000);

  it('gives the terminal back as it was on q (0), Ctrl-C (130) and SIGTERM (130)', async () => {
    for (const [how, code] of [
      ['q', 0],
      ['C-c', 130],
      ['SIGTERM', 130],
    ] as const) {
      const terminal = await openTop(await gpuEnv(join(tmpdir(), `smi-${String(process.pid)}-e.log`)));
      try {
        await terminal.waitFor(/db-1\s+running/, 20_000);
        expect(await terminal.paneFormat('#{alternate_on}')).toBe('1');
        if (how === 'SIGTERM') process.kill(await topPid(), 'SIGTERM');
        else await terminal.send(how);
        expect(await terminal.exitCode(10_000), how).toBe(code);
        expect(await terminal.paneFormat('#{alternate_on} #{cursor_flag}'), how).toBe('0 1');
        // Typed text echoes again: the terminal is out of raw mode.
        await terminal.send('-l', 'typed-back');
        await terminal.waitFor('typed-back', 5000);
      } finally {
        await terminal.close();
      }
    }
  }, 90_000);

  it('refuses to run without a terminal and says what to use instead', async () => {
    const result = await runCli(['top', ENV], { cwd: project.root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('stackctl top needs a terminal');
    expect(result.stderr).toContain('stackctl status ENV -r');
  });
});

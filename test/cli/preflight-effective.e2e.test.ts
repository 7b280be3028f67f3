// Preflight judges what compose will really run (issue 26): the user's overlay decides build
// contexts, bind mounts and published ports; --skip-check skips one named check; a check creates
// nothing (./models is start's to make).
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { Terminal } from '../helpers/terminal.js';
import { freePort, minimalProject, shippedProject, type TempProject } from '../helpers/project.js';

interface Report {
  ok: boolean;
  checks: { id: string; status: string; message: string; fix: string }[];
}
const check = (report: Report, id: string) => report.checks.find((c) => c.id === id);
const overlay = (root: string, text: string): Promise<void> =>
  mkdir(join(root, 'compose'), { recursive: true }).then(() =>
    writeFile(join(root, 'compose', 'local.override.yml'), text),
  );

describe('preflight over the effective configuration (shipped schema)', () => {
  let project: TempProject;
  beforeAll(async () => {
    project = await shippedProject();
  });
  afterAll(() => project.remove());

  const preflight = async (...extra: string[]) => {
    const result = await runCli(['preflight', 'development', '--gpu', 'cpu', '--json', ...extra], {
      cwd: project.root,
    });
    return {
      exitCode: result.exitCode,
      stderr: result.stderr,
      report: JSON.parse(result.stdout || '{}') as Report,
    };
  };

  it('a missing build context fails, with a fix that works, and nothing is created', async () => {
    const { report } = await preflight();
    expect(check(report, 'paths.ai-agents')).toMatchObject({
      status: 'fail',
      message: './services/ai-agents: build context of ai-agents is missing',
      fix: "clone the service's code there, or give ai-agents an image in compose/local.override.yml (image: NAME, and build: !reset null)",
    });
    expect(check(report, 'paths.vllm')?.message).toBe(
      './models (a cache folder of vllm) does not exist yet: start creates it',
    );
    await expect(stat(join(project.root, 'models'))).rejects.toThrow();
  });

  it('the overlay’s image takes the place of a build: reset, or kept with the image on the engine', async () => {
    await overlay(
      project.root,
      [
        'services:',
        '  ai-agents:',
        '    image: stackctl-test/busybox:1',
        '    build: !reset null',
        '  memory-system:',
        '    image: stackctl-test/busybox:1',
        '  search-engine:',
        '    image: stackctl-test/not-built-here:1',
        '',
      ].join('\n'),
    );
    const { report } = await preflight();
    expect(report.checks.filter((c) => c.id === 'paths.ai-agents' && c.status !== 'pass')).toEqual([]);
    expect(check(report, 'paths.memory-system')).toMatchObject({
      status: 'pass',
      message:
        './services/memory-system: build context of memory-system is missing; compose uses stackctl-test/busybox:1, present on this engine',
    });
    expect(check(report, 'paths.search-engine')).toMatchObject({
      status: 'fail',
      message:
        './services/search-engine: build context of search-engine is missing, and stackctl-test/not-built-here:1 is not on this engine to use instead',
    });
  });

  it('--skip-check reports a named check as skipped; a name that matches nothing is refused', async () => {
    const { report } = await preflight('--skip-check', 'paths.search-engine');
    expect(check(report, 'paths.search-engine')?.status).toBe('warn');
    expect(check(report, 'paths.search-engine')?.message).toMatch(
      /^skipped \(--skip-check\): \.\/services\/search-engine/,
    );
    expect(check(report, 'paths.user-management')?.status).toBe('fail');
    const typo = await runCli(['preflight', 'development', '--gpu', 'cpu', '--skip-check', 'paths.nope'], {
      cwd: project.root,
    });
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('--skip-check paths.nope names no preflight check of development');
  });

  it('an overlay compose rejects is a failed check, not a silent fallback to the schema', async () => {
    await overlay(project.root, 'services:\n  ai-agents:\n    image: [not, a, string]\n');
    const { report } = await preflight();
    expect(check(report, 'compose.config')).toMatchObject({ status: 'fail' });
    await overlay(project.root, 'services: {}\n');
  });
});

describe('preflight on a narrow terminal', () => {
  it('wraps messages and fixes at spaces, each continued under its own text', async () => {
    const project = await shippedProject();
    const terminal = await Terminal.open([stackctlCommand(), 'preflight', 'development', '--gpu', 'cpu'], {
      cwd: project.root,
      columns: 72,
    });
    try {
      await terminal.exitCode(30_000);
      const rows = (await terminal.screen()).split('\n').filter((row) => row.trim() !== '');
      expect(rows.some((row) => /^ +fix: /.test(row))).toBe(true);
      // A row the terminal wrapped would start mid-text: every row starts with a mark or an indent.
      for (const row of rows) expect(row, row).toMatch(/^(✔|⚠|✖| {4,})/);
    } finally {
      await terminal.close();
      await project.remove();
    }
  });
});

describe('preflight over the effective configuration (ports)', () => {
  let project: TempProject & { ports: number[] };
  let server: Server;
  let held: number;
  beforeAll(async () => {
    project = await minimalProject({ pool: ['10.237.0.0/20', '10.237.16.0/20'] });
    held = await freePort();
    server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: held }, resolve));
  });
  afterAll(async () => {
    server.close();
    await project.remove();
  });

  it('checks the port the overlay publishes, not the schema’s', async () => {
    await overlay(project.root, `services:\n  api:\n    ports: !override ['127.0.0.1:${held}:8000']\n`);
    const result = await runCli(['preflight', 'development', '--json'], { cwd: project.root });
    const report = JSON.parse(result.stdout) as Report;
    expect(result.exitCode).toBe(3);
    expect(check(report, `port.${held}`)?.status).toBe('fail');
    expect(check(report, `port.${project.ports[1]}`)).toBeUndefined();
  });
});

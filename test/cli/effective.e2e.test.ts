// Start expects what compose will really run: the configuration compose resolves from every file,
// the user's compose/local.override.yml included (issue 13), not the schema alone.
import { execa } from 'execa';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { inspect, stackProject, type StackProject } from '../helpers/stack-project.js';

interface DryRun {
  expectationsFrom: string;
  waits: { service: string; replicas: number; healthcheck: boolean; budgetSeconds: number }[];
}

let project: StackProject;
beforeAll(async () => {
  project = await stackProject(243);
});
afterAll(() => project.remove());

const overlay = (lines: string[]) =>
  writeFile(join(project.root, 'compose', 'local.override.yml'), `${lines.join('\n')}\n`);
const dryRun = async (): Promise<DryRun> => {
  const result = await runCli(['start', 'ok', '--dry-run', '--json'], { cwd: project.root });
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as DryRun;
};
const wait = (plan: DryRun, service: string) => plan.waits.find((w) => w.service === service);
const running = async (service: string): Promise<string[]> =>
  (
    await execa('docker', [
      'ps',
      '--filter',
      `label=com.docker.compose.project=${project.name}-ok`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
      '--format',
      '{{.Names}}',
    ])
  ).stdout
    .split('\n')
    .filter(Boolean);

describe('start plans from what compose resolves', () => {
  it('says where its expectations come from', async () => {
    expect((await dryRun()).expectationsFrom).toBe('schema'); // no files on disk yet
    expect((await runCli(['generate', 'ok'], { cwd: project.root })).exitCode).toBe(0);
    expect((await dryRun()).expectationsFrom).toBe('compose');
  });

  it('follows an overlay that adds replicas, changes healthcheck timings and removes a healthcheck', async () => {
    await overlay([
      'services:',
      '  worker:',
      '    deploy: { replicas: 2 }',
      '  web:',
      '    healthcheck: { interval: 2s, timeout: 1s, retries: 2, start_period: 0s, start_interval: 250ms }',
      '  db:',
      '    healthcheck: { disable: true }',
    ]);
    const plan = await dryRun();
    expect(wait(plan, 'worker')?.replicas).toBe(2);
    expect(wait(plan, 'web')?.budgetSeconds).toBe(0 + 2 * (2 + 1) + 15);
    expect(wait(plan, 'db')?.healthcheck).toBe(false);

    const result = await runCli(['start', 'ok', '--skip-preflight', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      services: { name: string; containers: number; health: string | null }[];
    };
    expect(report.services.find((s) => s.name === 'worker')?.containers).toBe(2);
    expect(await running('worker')).toHaveLength(2);
    expect((await inspect(`${project.name}-ok-db-1`)).State.Health).toBeUndefined();
  });

  it('follows an overlay that scales a service down to none, instead of waiting for it', async () => {
    await overlay(['services:', '  worker:', '    deploy: { replicas: 0 }']);
    expect(wait(await dryRun(), 'worker')?.replicas).toBe(0);
    const started = Date.now();
    const result = await runCli(['start', 'ok', '--skip-preflight', '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await running('worker')).toEqual([]);
    await rm(join(project.root, 'compose', 'local.override.yml'));
  });

  it("refuses an overlay compose itself rejects, with compose's words", async () => {
    await overlay(['services:', '  worker:', '    deploy: { replicas: many }']);
    const result = await runCli(['start', 'ok', '--skip-preflight'], { cwd: project.root });
    await rm(join(project.root, 'compose', 'local.override.yml'));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('docker compose config rejects the files');
  });
});

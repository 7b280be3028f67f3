// A stored secret of `changeme` (issue 14): validate --secrets, preflight and preflight --ci catch
// it, and none of them prints it.
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { minimalProject, type TempProject } from '../helpers/project.js';

let project: TempProject;
beforeAll(async () => {
  project = await minimalProject({ pool: ['10.239.0.0/20', '10.239.16.0/20'] });
  expect((await runCli(['generate', 'development'], { cwd: project.root })).exitCode).toBe(0);
  await writeFile(join(project.root, '.gitignore'), '.env.*\nsecrets/\nk8s-secrets-*.yaml\n');
  await execa('git', ['init', '-q'], { cwd: project.root });
  const path = join(project.root, 'secrets', '.env.development.json');
  const store = JSON.parse(await readFile(path, 'utf8')) as { secrets: Record<string, { value: string }> };
  (store.secrets['POSTGRES_PASSWORD'] as { value: string }).value = 'changeme';
  await writeFile(path, JSON.stringify(store), { mode: 0o600 });
});
afterAll(() => project.remove());

describe('stored credentials', () => {
  it('validate --secrets fails a placeholder, naming the secret, not the value', async () => {
    expect((await runCli(['validate'], { cwd: project.root })).exitCode).toBe(0);
    const result = await runCli(['validate', '--secrets'], { cwd: project.root });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain(
      'secrets/.env.development.json:1:1 development.POSTGRES_PASSWORD: POSTGRES_PASSWORD of development is a placeholder or a well-known default value',
    );
    expect(result.stdout + result.stderr).not.toContain('changeme');
  });

  it('preflight and preflight --ci fail it too', async () => {
    for (const args of [
      ['preflight', 'development', '--json'],
      ['preflight', 'development', '--ci', '--json'],
    ]) {
      const result = await runCli(args, { cwd: project.root });
      expect(result.exitCode, args.join(' ')).toBe(3);
      const checks = (JSON.parse(result.stdout) as { checks: { id: string; status: string }[] }).checks;
      expect(checks).toContainEqual(
        expect.objectContaining({ id: 'secrets.POSTGRES_PASSWORD', status: 'fail' }),
      );
      expect(result.stdout + result.stderr).not.toContain('changeme');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

describe('this repository', () => {
  it('commits compose files generated from its own schema (generate --all --check)', async () => {
    const result = await runCli(['generate', '--all', '--check', '--json'], { cwd: REPO_ROOT });
    const report = JSON.parse(result.stdout) as { files: { path: string; status: string }[] };
    expect(report.files.filter((file) => file.status !== 'unchanged')).toEqual([]);
    expect(result.exitCode).toBe(0);
  });
});

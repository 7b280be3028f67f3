import { execa } from 'execa';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The command under test: bin/stackctl (the built bundle), or the single binary when STACKCTL_BIN
 * points at one, so the same end-to-end tests cover both.
 */
export function stackctlCommand(): string {
  return process.env['STACKCTL_BIN'] ?? join(REPO_ROOT, 'bin', 'stackctl');
}

export async function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {},
): Promise<CliResult> {
  const result = await execa(stackctlCommand(), [...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { NO_COLOR: '1', ...options.env },
    reject: false,
    input: options.input ?? '',
    timeout: 60_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

import type { NvidiaSmiRunner } from '../host/nvidia-smi/runner.js';

export type { NvidiaSmiResult, NvidiaSmiRunner } from '../host/nvidia-smi/runner.js';

/** Runs nvidia-smi from PATH. Stdout and stderr come back together: errors go to either. */
export function nvidiaSmiRunner(
  options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): NvidiaSmiRunner {
  return async (args) => {
    // Loaded when nvidia-smi is run: most runs that hold a runner never call it.
    const { execa } = await import('execa');
    const result = await execa('nvidia-smi', [...args], {
      reject: false,
      all: true,
      env: options.env,
      extendEnv: options.env === undefined,
      timeout: 20_000,
      cancelSignal: options.signal,
      stdin: 'ignore',
    });
    if (result.failed && result.exitCode === undefined && (result as { code?: string }).code === 'ENOENT') {
      return { found: false };
    }
    return { found: true, exitCode: result.exitCode ?? 1, output: result.all ?? '' };
  };
}

/** What one nvidia-smi run gave: not found on PATH, or its exit code and output. */
export type NvidiaSmiResult =
  { readonly found: false } | { readonly found: true; readonly exitCode: number; readonly output: string };

/** Runs nvidia-smi with these arguments (an adapter in effects/, a fixture in tests). */
export type NvidiaSmiRunner = (args: readonly string[]) => Promise<NvidiaSmiResult>;

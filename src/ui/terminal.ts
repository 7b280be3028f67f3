/** A place output goes: process.stdout in production, a buffer in tests. */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** What the progress and prompt helpers need from a run: where to write, and whether a person is there. */
export interface UiContext {
  readonly env: NodeJS.ProcessEnv;
  readonly stderr: OutputStream;
  /** True when stdin and stderr are terminals: prompts and spinners are allowed. */
  readonly interactive: boolean;
  /** Aborted on Ctrl-C. */
  readonly signal: AbortSignal;
}

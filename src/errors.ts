/** Exit codes, as documented in the README and `stackctl --help`. */
export const EXIT = {
  ok: 0,
  runtime: 1,
  usage: 2,
  preflight: 3,
  refused: 4,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type ErrorCode =
  'E_USAGE' | 'E_SCHEMA' | 'E_SCHEMA_NOT_FOUND' | 'E_RUNTIME' | 'E_PREFLIGHT' | 'E_REFUSED' | 'E_INTERRUPTED';

const EXIT_BY_CODE: Record<ErrorCode, ExitCode> = {
  E_USAGE: EXIT.usage,
  E_SCHEMA: EXIT.usage,
  E_SCHEMA_NOT_FOUND: EXIT.usage,
  E_RUNTIME: EXIT.runtime,
  E_PREFLIGHT: EXIT.preflight,
  E_REFUSED: EXIT.refused,
  E_INTERRUPTED: EXIT.interrupted,
};

/** An expected failure: one line saying what is wrong, a hint saying how to fix it. */
export class StackctlError extends Error {
  override readonly name = 'StackctlError';
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.exitCode = EXIT_BY_CODE[code];
    this.hint = options.hint;
  }
}

/**
 * Thrown by a command that already printed its own report (validate's issue list) and only needs
 * the process to end with a given code.
 */
export class ReportedFailure extends Error {
  override readonly name = 'ReportedFailure';
  constructor(readonly exitCode: ExitCode) {
    super(`exit ${exitCode}`);
  }
}

export function isStackctlError(error: unknown): error is StackctlError {
  return error instanceof StackctlError;
}

/**
 * A failed connection to the Docker daemon (socket missing, refused, not permitted), as Node reports
 * it, turned into one clear line with what to do; undefined for any other error.
 */
export function dockerConnectionError(error: unknown): StackctlError | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, address, hostname } = error as NodeJS.ErrnoException & {
    address?: string;
    hostname?: string;
  };
  if (syscall === 'getaddrinfo') {
    return new StackctlError(
      'E_RUNTIME',
      `cannot reach the Docker daemon: no host named "${hostname ?? '?'}"`,
      {
        hint: 'check DOCKER_HOST (or the current docker context): the host name does not resolve',
        cause: error,
      },
    );
  }
  if (
    syscall !== 'connect' ||
    !['ENOENT', 'ECONNREFUSED', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code ?? '')
  ) {
    return undefined;
  }
  const where = address ?? 'the Docker socket';
  const hint =
    code === 'EACCES'
      ? 'add your user to the docker group (then log in again), or run with sudo'
      : 'start Docker (sudo systemctl start docker) or point DOCKER_HOST at a running daemon';
  return new StackctlError('E_RUNTIME', `cannot reach the Docker daemon at ${where} (${code ?? 'error'})`, {
    hint,
    cause: error,
  });
}

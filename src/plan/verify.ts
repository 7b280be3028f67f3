// The end-to-end checks of an environment (`verify:` of its services), resolved with its values,
// and what their results add up to. Pure: effects/verify-probe.ts runs them.
import { durationMs } from '../duration.js';
import type { EnvironmentModel } from '../model/environment.js';
import { interpolate } from '../schema/interpolate.js';
import type { VerifyCheckDef } from '../schema/types.js';

export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

export type VerifyProbe =
  | {
      readonly kind: 'http';
      readonly port: number;
      readonly path: string;
      readonly method: 'GET' | 'HEAD' | 'POST';
      readonly headers: Readonly<Record<string, string>>;
      readonly body: string | undefined;
      /** The status expected; undefined: any 2xx. */
      readonly status: number | undefined;
      readonly contains: string | undefined;
    }
  | { readonly kind: 'tcp'; readonly port: number }
  | { readonly kind: 'command'; readonly argv: readonly string[]; readonly contains: string | undefined };

export interface VerifyCheck {
  readonly service: string;
  readonly stack: string;
  /** Its place in the service's list, from 1. */
  readonly index: number;
  /** What it proves, as reports show it (never a secret value: headers are not part of it). */
  readonly name: string;
  readonly timeoutMs: number;
  readonly probe: VerifyProbe;
}

/**
 * The checks of the environment's services (of `services` only, when given), in the environment's
 * service order. `values` holds every variable's value, secrets included (headers may send them).
 */
export function verifyChecksOf(
  model: EnvironmentModel,
  values: ReadonlyMap<string, string>,
  services?: readonly string[],
): VerifyCheck[] {
  const fill = (text: string): string => interpolate(text, values).value;
  return model.services
    .filter((service) => services === undefined || services.includes(service.name))
    .flatMap((service) =>
      (service.definition.verify ?? []).map((def, index) => {
        const probe = probeOf(def, fill);
        return {
          service: service.name,
          stack: service.stack,
          index: index + 1,
          name: def.name ?? describeProbe(probe),
          timeoutMs: def.timeout === undefined ? DEFAULT_CHECK_TIMEOUT_MS : durationMs(def.timeout),
          probe,
        };
      }),
    );
}

function probeOf(def: VerifyCheckDef, fill: (text: string) => string): VerifyProbe {
  if (def.http)
    return {
      kind: 'http',
      port: def.http.port,
      path: fill(def.http.path ?? '/'),
      method: def.http.method ?? 'GET',
      headers: Object.fromEntries(Object.entries(def.http.headers ?? {}).map(([k, v]) => [k, fill(v)])),
      body: def.http.body === undefined ? undefined : fill(def.http.body),
      status: def.http.status,
      contains: def.http.contains,
    };
  if (def.tcp) return { kind: 'tcp', port: def.tcp.port };
  // The schema rule keeps secrets out of commands; other variables are filled in.
  return { kind: 'command', argv: (def.command ?? []).map(fill), contains: def.contains };
}

/** The check as a person reads it: `GET :8080/health → 200`, `tcp :5432`, `pg_isready -U app`. */
export function describeProbe(probe: VerifyProbe): string {
  switch (probe.kind) {
    case 'http':
      return `${probe.method} :${String(probe.port)}${probe.path} → ${probe.status === undefined ? '2xx' : String(probe.status)}${probe.contains === undefined ? '' : ` containing "${probe.contains}"`}`;
    case 'tcp':
      return `tcp :${String(probe.port)}`;
    case 'command':
      return probe.argv.join(' ');
  }
}

export type CheckStatus = 'passed' | 'failed' | 'broken';

/** One check run against one container (each replica is checked). */
export interface CheckResult {
  readonly service: string;
  readonly stack: string;
  readonly name: string;
  readonly container: string | undefined;
  /** passed; failed: the service answered wrong; broken: it could not be asked (no container, no address). */
  readonly status: CheckStatus;
  /** What was seen, when it did not pass (redacted). */
  readonly detail: string | undefined;
  readonly startedAt: number;
  readonly durationMs: number;
}

/** Whether what came back is what the check expects; undefined when it is, else what was wrong. */
export function judgeHttp(
  probe: Extract<VerifyProbe, { kind: 'http' }>,
  status: number,
  body: string,
): string | undefined {
  const statusOk = probe.status === undefined ? status >= 200 && status < 300 : status === probe.status;
  if (!statusOk)
    return `answered ${String(status)}, expected ${probe.status === undefined ? '2xx' : String(probe.status)}`;
  if (probe.contains !== undefined && !body.includes(probe.contains))
    return `the answer does not contain "${probe.contains}": ${firstLine(body)}`;
  return undefined;
}

export function judgeCommand(
  probe: Extract<VerifyProbe, { kind: 'command' }>,
  exitCode: number,
  output: string,
): string | undefined {
  if (exitCode !== 0) return `exited ${String(exitCode)}: ${firstLine(output)}`;
  if (probe.contains !== undefined && !output.includes(probe.contains))
    return `its output does not contain "${probe.contains}": ${firstLine(output)}`;
  return undefined;
}

function firstLine(text: string): string {
  const line = text.trim().split('\n').at(-1) ?? '';
  return line === '' ? '(nothing)' : line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

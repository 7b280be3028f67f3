/**
 * The command a compose healthcheck `test` runs, for running it directly with docker exec:
 * ["CMD", args...] runs args; ["CMD-SHELL", cmd] and a plain string run through /bin/sh -c;
 * ["NONE"] (or nothing) is no check.
 */
export function healthcheckCommand(test: string | readonly string[] | undefined): string[] | undefined {
  if (test === undefined) return undefined;
  if (typeof test === 'string') return test.trim() === '' ? undefined : ['/bin/sh', '-c', test];
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest.length > 0 ? [...rest] : undefined;
  if (kind === 'CMD-SHELL') return rest.length > 0 ? ['/bin/sh', '-c', rest.join(' ')] : undefined;
  return undefined;
}

/** Bounds of stackctl's own healthcheck runs while a service starts. */
export const EARLY_PROBE_MIN_MS = 100;
export const EARLY_PROBE_MAX_MS = 1000;

/**
 * How often stackctl runs a starting service's healthcheck itself, or undefined when Docker's own
 * runs are at least as frequent. The gap grows with the container's age (a twentieth of it, between
 * 100 ms and 1 s), so a service ready within a few seconds is seen within about 0.1 s while one that
 * takes minutes is checked once a second; Docker probes every `dockerEveryMs` (start_interval, or
 * the whole interval on engines without it).
 */
export function earlyProbeDelayMs(containerAgeMs: number, dockerEveryMs: number): number | undefined {
  const gap = Math.min(EARLY_PROBE_MAX_MS, Math.max(EARLY_PROBE_MIN_MS, Math.round(containerAgeMs / 20)));
  return gap < dockerEveryMs ? gap : undefined;
}

/**
 * Parses a duration as compose writes them (1m30s, 500ms, 10s, 1h, 2h45m); one parser for schema
 * values and command-line flags alike. Throws on anything else.
 */
export function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  let total = 0;
  let matched = '';
  for (const match of text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)) {
    total += Number(match[1]) * (units[match[2] ?? 's'] ?? 0);
    matched += match[0];
  }
  if (matched !== text.trim() || matched === '') throw new Error(`not a duration: ${text}`);
  return Math.round(total);
}

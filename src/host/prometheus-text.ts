// One metric's value from the Prometheus text exposition format (what /metrics answers): the sum
// over its series, or the mean for a ratio. Pure: tested on real exporter output.

/** The values of every series of `name` in an exposition (comments and other metrics skipped). */
export function metricValues(text: string, name: string): number[] {
  const values: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(
      rest
        .replace(/^\{[^}]*\}/, '')
        .trim()
        .split(/\s+/)[0],
    );
    if (Number.isFinite(value)) values.push(value);
  }
  return values;
}

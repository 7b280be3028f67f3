// The PostgreSQL extensions an init script creates, read from its text: `CREATE EXTENSION [IF NOT
// EXISTS] name`, the name bare or double-quoted, comments and string literals skipped. Pure.

/** The extension names, in order of first appearance, each once. */
export function createdExtensions(sql: string): string[] {
  const code = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''");
  const names: string[] = [];
  for (const match of code.matchAll(
    /\bcreate\s+extension\s+(?:if\s+not\s+exists\s+)?("(?:[^"]|"")+"|[A-Za-z_][\w$-]*)/gi,
  )) {
    const raw = match[1] ?? '';
    const name = raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase();
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

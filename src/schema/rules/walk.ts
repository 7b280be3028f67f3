import type { DocPath } from '../issue.js';

/** Visits every string in a value with its path, skipping human-readable description keys. */
export function walkStrings(
  value: unknown,
  path: DocPath,
  visit: (text: string, path: DocPath) => void,
): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((item, i) => walkStrings(item, [...path, i], visit));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key !== 'description') walkStrings(item, [...path, key], visit);
    }
  }
}

import { escapeControlCharacters } from '../text.js';

// Values written so that `docker compose --env-file` reads back exactly the same string.
// Compose's dotenv reader interpolates $ in unquoted and double-quoted values, strips " #" comments
// from unquoted ones, and takes single-quoted values literally (with no way to escape a quote).

const SAFE = /^[A-Za-z0-9_./:,@%+=-]*$/;

export function dotenvValue(value: string): string {
  if (SAFE.test(value)) return value;
  if (!/['\r\n]/.test(value)) return `'${value}'`;
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\$/g, '\\$')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
  return `"${escaped}"`;
}

export function dotenvLine(name: string, value: string): string {
  return `${name}=${dotenvValue(value)}`;
}

/**
 * Text written after `#` in a generated file, kept on that one line: line breaks and other control
 * characters are shown as escapes, so schema text can never start a line of its own.
 */
export const commentText = escapeControlCharacters;

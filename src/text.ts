// Pure helpers for text that comes from outside (files, tools, the schema) and goes somewhere a
// control character would do harm: one output line, a generated file's comment.

// C0 controls but tab, DEL, C1 controls, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/gu;

/**
 * The text with every control character shown as an escape (\n, \r, \u001b...), so it stays on
 * one line and cannot drive a terminal or start a line of its own in a generated file.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    return `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
  });
}

/** A short, printable excerpt of untrusted text for an error message. */
export function excerpt(text: string, maxLength = 80): string {
  const escaped = escapeControlCharacters(text);
  return escaped.length <= maxLength ? escaped : `${escaped.slice(0, maxLength - 1)}…`;
}

/**
 * Why bytes that should be UTF-8 text are not, or undefined when they are: UTF-16 (a byte-order
 * mark, or a NUL in every other byte), other binary data (NUL bytes), or invalid UTF-8.
 */
export function textEncodingProblem(bytes: Uint8Array): string | undefined {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    return 'UTF-16 text (it starts with a UTF-16 byte-order mark)';
  const sample = bytes.subarray(0, 4096);
  const nuls = sample.reduce((count, byte) => count + (byte === 0 ? 1 : 0), 0);
  if (nuls > 0 && nuls >= sample.length / 4) return 'UTF-16 text (every other byte is NUL)';
  if (nuls > 0) return 'binary data (it holds NUL bytes)';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'not valid UTF-8 text';
  }
  return undefined;
}

/**
 * Orders text by UTF-16 code units, as Array.prototype.sort does: the same on every machine
 * (localeCompare follows the user's locale, so a sorted generated file would differ between two
 * machines), and it needs no ICU data, which costs a short command a tenth of its start to load.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Helpers for reading what command-line tools print: ANSI escapes, CRLF, tabs.

// CSI sequences (colours, underline) and OSC sequences (hyperlinks).
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** Lines without ANSI escapes or carriage returns. */
export function cleanLines(text: string): string[] {
  return stripAnsi(text).replace(/\r\n?/g, '\n').split('\n');
}

/** Replaces tabs with spaces up to the next multiple of `width`, so columns line up as a terminal shows them. */
export function expandTabs(line: string, width = 8): string {
  let out = '';
  for (const char of line) {
    if (char === '\t') out += ' '.repeat(width - (out.length % width));
    else out += char;
  }
  return out;
}

export interface Token {
  readonly text: string;
  /** Column where the token starts, after tab expansion. */
  readonly column: number;
}

/** Whitespace-separated tokens with their columns. */
export function tokens(line: string): Token[] {
  const expanded = expandTabs(line);
  return [...expanded.matchAll(/\S+/g)].map((match) => ({ text: match[0], column: match.index }));
}

import { compareText } from '../text.js';
/** A path inside the stack document: keys and sequence indexes. */
export type DocPath = readonly (string | number)[];

export type Severity = 'error' | 'warning';

/** One problem found in a stack file, located at file:line:column. */
export interface Issue {
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
  readonly hint: string;
}

/** A problem found by a check, before it is given a position in the file. */
export interface Finding {
  readonly path: DocPath;
  readonly message: string;
  readonly hint?: string;
  readonly severity?: Severity;
  /** Point at the key of the last path segment instead of its value. */
  readonly at?: 'key' | 'value';
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Formats a path the way users write it: services.litellm.depends_on[1]. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(document)' : out;
}

/** Orders issues by position so output reads top to bottom. */
export function compareIssues(a: Issue, b: Issue): number {
  return (
    compareText(a.file, b.file) || a.line - b.line || a.column - b.column || compareText(a.message, b.message)
  );
}

import { LineCounter, parse, parseDocument, type Document, type YAMLError } from 'yaml';
import { formatPath, type Finding, type Issue } from './issue.js';
import { locate } from './positions.js';

const YAML_HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'remove or rename one of the two keys; YAML keeps only one of them',
  BAD_INDENT: 'indent with spaces so that siblings line up',
  TAB_AS_INDENT: 'YAML does not allow tabs for indentation; use spaces',
  MISSING_CHAR: 'close the quote or bracket that was opened',
  BLOCK_AS_IMPLICIT_KEY: 'a key must fit on one line; check the indentation of the line above',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; check for a missing colon or closing quote',
  UNEXPECTED_TOKEN: 'check for a stray character, a missing colon, or unbalanced brackets',
  BAD_ALIAS: 'define the anchor (&name) before using it (*name)',
  BAD_SCALAR_START: 'quote values that start with a special character such as @, ` or %',
  BLOCK_IN_FLOW: 'a block collection cannot sit inside [ ] or { }; use flow style or indentation',
};

/** A stack file's data as far as it parses, or undefined: for what must never fail (completion). */
export function parseLoosely(text: string): unknown {
  try {
    return parse(text, { merge: true, maxAliasCount: 1000 }) as unknown;
  } catch {
    return undefined;
  }
}

/** A stack file parsed with source positions, able to place findings at file:line:column. */
export interface PositionedSource {
  /** YAML errors and warnings, positioned. */
  readonly syntaxIssues: readonly Issue[];
  readonly hasSyntaxErrors: boolean;
  readonly data: unknown;
  place(finding: Finding): Issue;
}

export function parseWithPositions(text: string, fileName: string): PositionedSource {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, {
    uniqueKeys: true,
    merge: true,
    prettyErrors: false,
    lineCounter,
  });
  const syntaxIssues = [...doc.errors, ...doc.warnings].map((error) =>
    yamlIssue(error, text, fileName, lineCounter),
  );
  let data: unknown;
  if (doc.errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      // Unresolved aliases and alias bombs surface only when the document is turned into data.
      syntaxIssues.push(conversionIssue(error, text, fileName, lineCounter));
    }
  }
  const hasSyntaxErrors = syntaxIssues.some((issue) => issue.severity === 'error');
  return {
    syntaxIssues,
    hasSyntaxErrors,
    data,
    place(finding: Finding): Issue {
      const position = locate(doc, lineCounter, finding.path, finding.at);
      return {
        severity: finding.severity ?? 'error',
        file: fileName,
        line: position.line,
        column: position.column,
        path: formatPath(finding.path),
        message: finding.message,
        hint: finding.hint ?? '',
      };
    },
  };
}

function conversionIssue(error: unknown, text: string, fileName: string, lineCounter: LineCounter): Issue {
  const message = error instanceof Error ? error.message : String(error);
  const alias = /alias[^:]*: (\S+)/i.exec(message)?.[1];
  const offset = alias === undefined ? -1 : text.search(new RegExp(`\\*${escapeRegExp(alias)}\\b`));
  const position = lineCounter.linePos(Math.max(offset, 0));
  return {
    severity: 'error',
    file: fileName,
    line: offset < 0 ? 1 : position.line,
    column: offset < 0 ? 1 : position.col,
    path: '(yaml)',
    message: `YAML: ${message.charAt(0).toLowerCase()}${message.slice(1)}`,
    hint:
      alias === undefined
        ? 'fix the YAML at this position'
        : `define the anchor &${alias} before using *${alias}`,
  };
}

/**
 * The offset of the last [ or { opened before `end` and not closed, skipping quoted text and
 * comments; undefined when every bracket is closed.
 */
export function unclosedFlowOpening(text: string, end: number): number | undefined {
  const open: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < Math.min(end, text.length); i++) {
    const char = text[i] ?? '';
    const before = i === 0 ? '\n' : (text[i - 1] ?? '');
    if (quote !== undefined) {
      if (quote === "'" && char === "'" && text[i + 1] === "'") i++;
      else if (quote === '"' && char === '\\') i++;
      else if (char === quote) quote = undefined;
      continue;
    }
    if ((char === '"' || char === "'") && /[\s[{,:]/.test(before)) quote = char;
    else if (char === '#' && /\s/.test(before))
      i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i) - 1;
    else if (char === '[' || char === '{') open.push(i);
    else if (char === ']' || char === '}') open.pop();
  }
  return open.at(-1);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function yamlIssue(error: YAMLError, text: string, fileName: string, lineCounter: LineCounter): Issue {
  const firstLine = error.message.split('\n')[0] ?? error.message;
  // An unclosed [ or { is noticed lines later, where the parser gives up; the mistake is where it
  // opened, so point there.
  const unclosed = /^Flow (sequence|map) .*end with an? ([\]}])/.exec(firstLine);
  const opening = unclosed ? unclosedFlowOpening(text, error.pos[0]) : undefined;
  if (unclosed && opening !== undefined) {
    const at = lineCounter.linePos(opening);
    return {
      severity: 'error',
      file: fileName,
      line: at.line,
      column: at.col,
      path: '(yaml)',
      message: `YAML: this flow ${unclosed[1]} is never closed with ${unclosed[2] ?? ''}`,
      hint: `close it with ${unclosed[2] ?? ''} where it ends; an unclosed quote inside it hides the bracket too`,
    };
  }
  const position = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
  const message = firstLine.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
  return {
    severity: error.name === 'YAMLWarning' ? 'warning' : 'error',
    file: fileName,
    line: position.line,
    column: position.col,
    path: '(yaml)',
    message: `YAML: ${message.charAt(0).toLowerCase()}${message.slice(1)}`,
    hint: YAML_HINTS[error.code] ?? 'fix the YAML syntax at this position',
  };
}

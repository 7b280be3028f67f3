// Env templates are the project's files, rendered by nunjucks, which has no sandbox: an expression
// such as `range.constructor("return process")()` runs code at `stackctl generate`. So a template
// may use only what an env file needs, checked on its syntax tree before anything renders:
// text, comments, `{% include "x.env.j2" %}`, `{% if %}` on the names below, and the names
// `variable("NAME")`, `remaining()`, `header`, `environment.name|description|project`, with the
// filters `dotenv` and `comment`. Pure.
import nunjucks from 'nunjucks';
import { StackctlError } from '../errors.js';

interface TemplateNode {
  readonly typename: string;
  readonly lineno: number;
  readonly fields: readonly string[];
  readonly value?: unknown;
  readonly [field: string]: unknown;
}

const ENVIRONMENT_FIELDS = new Set(['name', 'description', 'project']);
const FILTERS = new Set(['dotenv', 'comment']);
const STRUCTURE = new Set(['Root', 'NodeList', 'Output', 'TemplateData']);
const LOGIC = new Set(['And', 'Or', 'Not', 'Compare', 'CompareOperand', 'Group']);

const isNode = (value: unknown): value is TemplateNode =>
  typeof value === 'object' && value !== null && typeof (value as TemplateNode).typename === 'string';

function children(node: TemplateNode): TemplateNode[] {
  return node.fields.flatMap((field) => {
    const value = node[field];
    return Array.isArray(value) ? value.filter(isNode) : isNode(value) ? [value] : [];
  });
}

const symbolName = (node: unknown): string | undefined =>
  isNode(node) && node.typename === 'Symbol' ? String(node.value) : undefined;
const literal = (node: unknown): unknown =>
  isNode(node) && node.typename === 'Literal' ? node.value : undefined;

/** The first construct a template may not use, with its line; undefined when all are allowed. */
function firstForbidden(node: TemplateNode): { line: number; what: string } | undefined {
  const forbid = (what: string) => ({ line: node.lineno + 1, what });
  switch (node.typename) {
    case 'Literal':
      return ['string', 'number', 'boolean'].includes(typeof node.value) ? undefined : forbid('a literal');
    case 'Symbol':
      return symbolName(node) === 'header' ? undefined : forbid(`the name "${String(node.value)}"`);
    case 'LookupVal': {
      const field = literal(node['val']);
      return symbolName(node['target']) === 'environment' &&
        typeof field === 'string' &&
        ENVIRONMENT_FIELDS.has(field)
        ? undefined
        : forbid('a lookup other than environment.name, .description or .project');
    }
    case 'FunCall': {
      const name = symbolName(node['name']);
      const args = isNode(node['args']) ? children(node['args']) : [];
      if (name === 'variable' && args.length === 1 && typeof literal(args[0]) === 'string') return undefined;
      if (name === 'remaining' && args.length === 0) return undefined;
      return forbid('a call other than variable("NAME") or remaining()');
    }
    case 'Filter': {
      const name = symbolName(node['name']);
      if (name === undefined || !FILTERS.has(name)) return forbid(`the filter "${name ?? '?'}"`);
      const args = isNode(node['args']) ? children(node['args']) : [];
      return args.length === 1 && args[0] ? firstForbidden(args[0]) : forbid('a filter with arguments');
    }
    case 'Include':
      return typeof literal(node['template']) === 'string'
        ? undefined
        : forbid('an include of a computed name');
    case 'If':
    case 'InlineIf':
      break;
    default:
      if (!STRUCTURE.has(node.typename) && !LOGIC.has(node.typename))
        return forbid(`{% ${node.typename.toLowerCase()} %}`);
  }
  for (const child of children(node)) {
    const found = firstForbidden(child);
    if (found) return found;
  }
  return undefined;
}

/** Refuses a template that uses more than an env file needs (see the top of this file). */
export function checkTemplate(name: string, source: string): void {
  let root: TemplateNode;
  try {
    // nunjucks' parser is public (nunjucks.parser), but its type declarations leave it out.
    const { parser } = nunjucks as unknown as {
      parser: { parse: (src: string, extensions: [], options: object) => unknown };
    };
    root = parser.parse(source, [], { trimBlocks: true, lstripBlocks: true }) as TemplateNode;
  } catch (error) {
    throw new StackctlError(
      'E_USAGE',
      `env-templates/${name}: ${(error as Error).message.split('\n')[0] ?? ''}`,
      {
        hint: 'fix the template (nunjucks syntax)',
      },
    );
  }
  const found = firstForbidden(root);
  if (found)
    throw new StackctlError(
      'E_USAGE',
      `env-templates/${name}:${found.line} uses ${found.what}, which env templates may not`,
      {
        hint: 'env templates take text, comments, include, if, variable("NAME"), remaining(), header and environment.name/description/project, with the dotenv and comment filters',
      },
    );
}

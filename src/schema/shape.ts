import type { ErrorObject } from 'ajv';
// Compiled from schemas/compose-schema.json at build time (scripts/generate-sources.mjs).
import validateShape from './generated/stack-shape.js';
import type { DocPath, Finding } from './issue.js';
import { didYouMean } from './suggest.js';

const KEY_HINTS: Record<string, string> = {
  container_name:
    'stackctl names containers per environment so environments never collide; remove container_name',
  networks: "networks come from the service's stack (stacks.<name>.network); remove networks",
  env_file: 'stackctl writes the env file for each environment; declare values under variables instead',
  runtime: 'set gpu: true and choose a gpuProfile; stackctl writes the device reservation',
  profiles: 'list the service under environments.<name>.services instead of using compose profiles',
};

/** Checks the document's shape against the JSON Schema and returns every mismatch. */
export function checkShape(data: unknown): Finding[] {
  if (validateShape(data)) return [];
  return toFindings(validateShape.errors ?? [], data);
}

function pathOf(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let cursor: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cursor)) {
      const index = Number(key);
      out.push(index);
      cursor = cursor[index];
    } else {
      out.push(key);
      cursor =
        cursor !== null && typeof cursor === 'object' ? (cursor as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
};

function toFindings(errors: ErrorObject[], data: unknown): Finding[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const error of errors) {
    const list = byPath.get(error.instancePath) ?? [];
    list.push(error);
    byPath.set(error.instancePath, list);
  }
  const findings: Finding[] = [];
  const pointers = [...byPath.keys()];
  for (const [pointer, group] of byPath) {
    const path = pathOf(pointer, data);
    const deeper = pointers.some((other) => other !== pointer && other.startsWith(`${pointer}/`));
    findings.push(...explainGroup(group, path, deeper));
  }
  return findings;
}

/** Turns the ajv errors at one place into the fewest clear findings. */
function explainGroup(group: ErrorObject[], path: DocPath, hasDeeperErrors: boolean): Finding[] {
  const composite = group.some((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const specific = group.filter((e) => !['oneOf', 'anyOf', 'if', 'not'].includes(e.keyword));
  if (composite && hasDeeperErrors && specific.length === 0) return [];

  const findings: Finding[] = [];
  const types = specific.filter((e) => e.keyword === 'type');
  if (types.length > 0) {
    const wanted = [...new Set(types.flatMap((e) => String(e.params['type']).split(',')))].map(
      (t) => TYPE_WORDS[t] ?? t,
    );
    findings.push({
      path,
      message: `must be ${wanted.join(' or ')}, not ${describe(types[0]?.data)}`,
      hint: 'fix the value type; see docs/schema.md',
    });
  }
  const requiredInAnyOf = composite ? specific.filter((e) => e.keyword === 'required') : [];
  if (requiredInAnyOf.length > 1) {
    const names = requiredInAnyOf.map((e) => `"${String(e.params['missingProperty'])}"`);
    findings.push({ path, message: `needs one of ${names.join(' or ')}`, hint: `add ${names.join(' or ')}` });
  }
  for (const error of specific) {
    if (error.keyword === 'type') continue;
    if (error.keyword === 'required' && requiredInAnyOf.length > 1) continue;
    findings.push(explainOne(error, path));
  }
  if (findings.length === 0 && !hasDeeperErrors) {
    const error = group[0];
    if (error) findings.push({ path, message: error.message ?? 'is not valid', hint: 'see docs/schema.md' });
  }
  return findings;
}

function explainOne(error: ErrorObject, path: DocPath): Finding {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const parent = error.parentSchema as { properties?: Record<string, unknown> } | undefined;
      const known = Object.keys(parent?.properties ?? {});
      return {
        path: [...path, key],
        at: 'key',
        message: `unknown key "${key}"`,
        hint: KEY_HINTS[key] ?? (didYouMean(key, known, 'allowed keys') || 'remove it'),
      };
    }
    case 'required': {
      const key = String(params['missingProperty']);
      return { path, message: `missing required key "${key}"`, hint: `add "${key}"; see docs/schema.md` };
    }
    case 'enum': {
      const values = params['allowedValues'] as unknown[];
      const words = values.filter((value): value is string => typeof value === 'string');
      const suggestion = didYouMean(String(error.data), words, 'use one of');
      return {
        path,
        message: `${JSON.stringify(error.data)} is not allowed`,
        // Booleans and numbers among the values are written as YAML reads them: unquoted.
        hint:
          words.length === values.length || suggestion.startsWith('did you mean')
            ? suggestion
            : `use one of: ${values.map((value) => JSON.stringify(value)).join(', ')}`,
      };
    }
    case 'const':
      if (path.length === 1 && path[0] === 'version') {
        return {
          path,
          message: `unsupported schema format version ${JSON.stringify(error.data)}`,
          hint: `this stackctl reads version ${String(params['allowedValue'])}`,
        };
      }
      return { path, message: `must be ${JSON.stringify(params['allowedValue'])}`, hint: '' };
    case 'pattern':
      return {
        path,
        message: `${JSON.stringify(error.data)} does not match ${String(params['pattern'])}`,
        hint: patternHint(String(params['pattern'])),
      };
    case 'propertyNames': {
      const name = String(params['propertyName']);
      return { path: [...path, name], at: 'key', message: `invalid name "${name}"`, hint: nameHint(path) };
    }
    case 'uniqueItems':
      return {
        path: [...path, Number(params['j'])],
        message: `duplicate entry ${JSON.stringify((error.data as unknown[])[Number(params['j'])])}`,
        hint: 'list each entry once',
      };
    default:
      return { path, message: error.message ?? 'is not valid', hint: 'see docs/schema.md' };
  }
}

function patternHint(pattern: string): string {
  if (pattern.includes('(ms|us|s|m|h)')) return 'write a duration such as 500ms, 10s or 1m30s';
  if (pattern.includes('[bkmgBKMG]')) return 'write a size such as 512M or 4G';
  return 'see docs/schema.md for the allowed form';
}

function nameHint(path: DocPath): string {
  const section = path[0];
  if (section === 'variables') return 'variable names are UPPER_SNAKE_CASE, such as POSTGRES_PORT';
  if (section === 'services' || section === 'environments' || section === 'project')
    return 'use lower-case letters, digits and "-", starting with a letter';
  return 'use lower-case letters, digits, "-" and "_", starting with a letter';
}

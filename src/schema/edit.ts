// Changes to the stack file a command makes for the user (a model switch), spliced into its text:
// comments, order, layout and every other line stay exactly as they were.
import { isMap, isScalar, parseDocument, type Pair, type YAMLMap } from 'yaml';

/**
 * Sets `environments.<env>.variables.<name>` for each entry (the variables map is added when the
 * environment has none). Returns the new text.
 */
export function setEnvironmentVariables(
  text: string,
  env: string,
  values: Readonly<Record<string, string | number>>,
): string {
  let edited = text;
  for (const [name, value] of Object.entries(values)) edited = setOne(edited, env, name, scalarText(value));
  return edited;
}

function setOne(text: string, env: string, name: string, value: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw new Error(`the stack file does not parse: ${doc.errors[0]?.message ?? ''}`);
  const environment = doc.getIn(['environments', env], true);
  if (!isMap(environment)) throw new Error(`the stack file has no environment ${env}`);
  const variables = environment.get('variables', true);
  if (isMap(variables)) {
    const pair = variables.items.find((item) => keyOf(item) === name);
    const range = (pair?.value as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return text.slice(0, range[0]) + value + text.slice(range[1]);
    if (variables.flow) {
      const close = text.lastIndexOf('}', (variables.range ?? [0, text.length])[1]);
      const separator = variables.items.length > 0 ? ', ' : ' ';
      return `${text.slice(0, close).trimEnd()}${separator}${name}: ${value} ${text.slice(close)}`;
    }
    return appendEntry(text, variables, `${name}: ${value}`);
  }
  return appendEntry(text, environment, `variables:\n__INDENT__  ${name}: ${value}`);
}

/** Adds `entry` as the last key of a block map, at its keys' indentation. */
function appendEntry(text: string, map: YAMLMap, entry: string): string {
  const last = map.items.at(-1);
  const firstKey = map.items[0]?.key as { range?: [number, number, number] } | undefined;
  if (!last || !firstKey?.range) throw new Error('cannot add to an empty map');
  const keyStart = firstKey.range[0];
  const indent = ' '.repeat(keyStart - (text.lastIndexOf('\n', keyStart - 1) + 1));
  const valueEnd = ((last.value as { range?: [number, number, number] } | null)?.range ??
    (last.key as { range: [number, number, number] }).range)[1];
  const lineEnd = text.indexOf('\n', Math.max(valueEnd - 1, 0));
  const at = lineEnd < 0 ? text.length : lineEnd;
  return `${text.slice(0, at)}\n${indent}${entry.replace(/__INDENT__/g, indent)}${text.slice(at)}`;
}

function keyOf(pair: Pair): unknown {
  return isScalar(pair.key) ? pair.key.value : pair.key;
}

/** A value as a YAML scalar: plain where it reads back as the same string, double-quoted otherwise. */
function scalarText(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const plain = /^[A-Za-z_/][\w./@+-]*$/.test(value) && !/^(true|false|yes|no|on|off|null|~)$/i.test(value);
  return plain ? value : JSON.stringify(value);
}

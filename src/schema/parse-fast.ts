import { CORE_SCHEMA, Type, load } from 'js-yaml';

// YAML 1.2 core types plus `<<` merge keys: the same data model the `yaml` package gives with
// { merge: true }. A test parses every schema in the repository both ways and compares.
const MERGE_KEY = new Type('tag:yaml.org,2002:merge', {
  kind: 'scalar',
  resolve: (data: unknown) => data === '<<' || data === null,
});
const STACK_YAML_SCHEMA = CORE_SCHEMA.extend({ implicit: [MERGE_KEY] });

export type FastParse = { readonly ok: true; readonly data: unknown } | { readonly ok: false };

/**
 * Parses YAML quickly, without source positions. Cold, js-yaml parses the shipped schema about five
 * times faster than the `yaml` package; positions are only needed when there is something to report.
 */
export function parseFast(text: string): FastParse {
  try {
    return { ok: true, data: load(text, { schema: STACK_YAML_SCHEMA, json: false }) };
  } catch {
    return { ok: false };
  }
}

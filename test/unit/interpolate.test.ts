import { describe, expect, it } from 'vitest';
import { findVariableReferences, interpolate, isSingleReference } from '../../src/schema/interpolate.js';

describe('findVariableReferences', () => {
  it('finds braced, bare and modified references', () => {
    const refs = findVariableReferences('${A} $B ${C:-x} ${D?required} ${E:+alt}');
    expect(refs.map((ref) => [ref.name, ref.modifier, ref.operand])).toEqual([
      ['A', '', ''],
      ['B', '', ''],
      ['C', ':-', 'x'],
      ['D', '?', 'required'],
      ['E', ':+', 'alt'],
    ]);
  });

  it('treats $$ as a literal dollar, not a reference', () => {
    expect(findVariableReferences('pg_isready -U "$${POSTGRES_USER}" $$HOME')).toEqual([]);
  });

  it('ignores a lone dollar sign', () => {
    expect(findVariableReferences('costs $5 or $')).toEqual([]);
  });
});

describe('interpolate', () => {
  const values = new Map([
    ['HOST', 'db'],
    ['EMPTY', ''],
  ]);

  it('substitutes values and keeps literal text', () => {
    expect(interpolate('postgres://${HOST}:5432/$HOST', values)).toEqual({
      value: 'postgres://db:5432/db',
      missing: [],
    });
  });

  it('interpolates nested references in defaults and alternatives, as compose does', () => {
    expect(interpolate('${UNSET:-${HOST}}', values)).toEqual({ value: 'db', missing: [] });
    expect(interpolate('${HOST:-${UNSET}}', values)).toEqual({ value: 'db', missing: [] });
    expect(interpolate('${UNSET:-x${EMPTY:-${HOST}}y}!', values)).toEqual({ value: 'xdby!', missing: [] });
    expect(interpolate('${HOST:+<${HOST}>}', values).value).toBe('<db>');
    expect(interpolate('${UNSET:-${GONE}}', values)).toEqual({ value: '', missing: ['GONE'] });
    expect(findVariableReferences('${A:-${B}}').map((ref) => ref.name)).toEqual(['A', 'B']);
  });

  it('applies compose default rules: ":-" covers empty, "-" only unset', () => {
    expect(interpolate('${EMPTY:-d}|${EMPTY-d}|${UNSET-d}', values).value).toBe('d||d');
  });

  it('applies alternatives: ":+" needs a non-empty value, "+" any set value', () => {
    expect(interpolate('${HOST:+x}|${EMPTY:+x}|${EMPTY+x}|${UNSET+x}', values).value).toBe('x||x|');
  });

  it('reports variables without a value instead of inventing one', () => {
    expect(interpolate('${HOST}:${NOPE}', values)).toEqual({ value: 'db:', missing: ['NOPE'] });
  });

  it('turns $$ into $', () => {
    expect(interpolate('$${HOST}', values).value).toBe('${HOST}');
  });
});

describe('isSingleReference', () => {
  it('accepts exactly one plain reference', () => {
    expect(isSingleReference('${POSTGRES_PASSWORD}')).toBe(true);
    expect(isSingleReference('x${POSTGRES_PASSWORD}')).toBe(false);
    expect(isSingleReference('${A:-b}')).toBe(false);
  });
});

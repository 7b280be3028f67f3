import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseFast } from '../../src/schema/parse-fast.js';
import { SCHEMA_FIXTURES, SHIPPED_SCHEMA } from '../helpers/paths.js';

// validate parses with js-yaml on the fast path and with `yaml` (positions) when it reports issues:
// both must read the same data from every file they both accept.
const files = [
  SHIPPED_SCHEMA,
  join(SCHEMA_FIXTURES, 'minimal.yaml'),
  ...readdirSync(join(SCHEMA_FIXTURES, 'broken')).map((name) => join(SCHEMA_FIXTURES, 'broken', name)),
];

describe('the fast and the positioned YAML parser', () => {
  it.each(files)('read the same data from %s', (path) => {
    const text = readFileSync(path, 'utf8');
    let slow: unknown;
    try {
      slow = parse(text, { merge: true, uniqueKeys: true });
    } catch {
      return expect(parseFast(text).ok).toBe(false);
    }
    const fast = parseFast(text);
    if (fast.ok) expect(fast.data).toEqual(slow);
  });

  it('agree on YAML 1.2 scalars that YAML 1.1 read differently', () => {
    const text = 'a: yes\nb: on\nc: 0o17\nd: 017\ne: 2001-12-14\nf: .inf\ng: ~\nh: 1_000\n';
    const fast = parseFast(text);
    expect(fast.ok && fast.data).toEqual(parse(text));
  });

  it('merge << keys the same way, with local keys winning', () => {
    const text = 'base: &b { x: 1, y: 2 }\nuse: { <<: *b, y: 3 }\n';
    const fast = parseFast(text);
    expect(fast.ok && fast.data).toEqual({ base: { x: 1, y: 2 }, use: { x: 1, y: 3 } });
    expect(parse(text, { merge: true })).toEqual({ base: { x: 1, y: 2 }, use: { x: 1, y: 3 } });
  });
});

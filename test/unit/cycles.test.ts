import { describe, expect, it } from 'vitest';
import { findCycles } from '../../src/schema/rules/cycles.js';

describe('findCycles', () => {
  it('finds nothing in a DAG', () => {
    const graph = new Map([
      ['ui', ['ai', 'core']],
      ['ai', ['core', 'inference']],
      ['inference', ['core']],
      ['core', []],
    ]);
    expect(findCycles(graph)).toEqual([]);
  });

  it('names each cycle from its start back to its start', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['d']],
    ]);
    expect(findCycles(graph)).toEqual([
      ['a', 'b', 'c', 'a'],
      ['d', 'd'],
    ]);
  });

  it('ignores edges to unknown nodes (reported elsewhere)', () => {
    expect(findCycles(new Map([['a', ['missing']]]))).toEqual([]);
  });
});

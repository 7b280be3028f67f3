import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
  type Pair,
} from 'yaml';
import type { DocPath } from './issue.js';

export interface Position {
  readonly line: number;
  readonly column: number;
}

function keyOf(node: unknown): unknown {
  return isScalar(node) ? node.value : node;
}

function deref(node: unknown, doc: Document): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

/**
 * Finds where a path points in the YAML source. Walks as deep as the document goes, so a path into
 * something missing (a required key, say) points at its nearest existing parent.
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: DocPath,
  at: 'key' | 'value' = 'value',
): Position {
  let node: unknown = doc.contents;
  let range: [number, number, number] | undefined = doc.contents?.range ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const isLast = i === path.length - 1;
    node = deref(node, doc);
    let next: unknown;
    let keyRange: [number, number, number] | undefined;
    if (isMap(node)) {
      const pair = findPair(node.items, segment, doc);
      if (pair) {
        next = pair.value;
        keyRange = (pair.key as Node | null)?.range ?? undefined;
      }
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined && keyRange === undefined) break;
    if (isLast && at === 'key' && keyRange) {
      range = keyRange;
      break;
    }
    const nextRange = (deref(next, doc) as Node | null)?.range ?? (next as Node | null)?.range;
    range = nextRange ?? keyRange ?? range;
    node = next;
  }
  const offset = range?.[0] ?? 0;
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function findPair(items: unknown[], segment: string | number | undefined, doc: Document): Pair | undefined {
  for (const item of items) {
    if (!isPair(item)) continue;
    if (String(keyOf(item.key)) === String(segment)) return item;
  }
  // Keys brought in by a `<<: *anchor` merge live in the anchored map.
  for (const item of items) {
    if (!isPair(item) || keyOf(item.key) !== '<<') continue;
    const source = deref(item.value, doc);
    if (isMap(source)) {
      const found: Pair | undefined = findPair(source.items, segment, doc);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Positions of fields for messages: in a document composed by yaml, and (the same answers) in
 * the tokens of a document that the fast path of ./tokens.ts read. Pure.
 */
import type * as Yaml from 'yaml';
import type { CST, Node } from 'yaml';
import type { Position } from './parse.js';
import { isMapToken, tokenKey, type YamlCore } from './tokens.js';

/**
 * The position of a field (or of its key) in a document composed by yaml: the deepest node found
 * along `path`; undefined when it has no range.
 */
export function locateNode(y: typeof Yaml, root: Node, path: readonly (string | number)[], key: boolean, pos: (o: number) => Position): Position | undefined {
  let node: unknown = root;
  let keyNode: unknown;
  let last: unknown = root;
  for (const seg of path) {
    keyNode = undefined;
    if (y.isMap(node)) {
      const pair = node.items.find((p) => y.isPair(p) && y.isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      keyNode = pair.key;
      node = pair.value;
    } else if (y.isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      break;
    }
    if (node === null || node === undefined) { node = keyNode; break; }
    last = node;
  }
  const target = (key && keyNode ? keyNode : node ?? last) as { range?: [number, number, number]; type?: string };
  const offset = target?.range?.[0] ?? (last as { range?: [number] }).range?.[0];
  if (offset === undefined) return undefined;
  const quoted = y.isScalar(target) && (target.type === 'QUOTE_DOUBLE' || target.type === 'QUOTE_SINGLE');
  return quoted ? { ...pos(offset), quoted } : pos(offset);
}

/** A key found by {@link findKey}: the field path it names, and the offset of an earlier equal key of the same mapping. */
export interface FoundKey { path: (string | number)[]; firstOffset?: number }

/**
 * The field path of the mapping key that starts at `offset` (where yaml reports a duplicate
 * key) in a document composed by yaml; undefined when no scalar key starts there.
 */
export function findKey(y: typeof Yaml, root: Node, offset: number): FoundKey | undefined {
  const within = (n: unknown): boolean => {
    const r = (n as { range?: [number, number, number] } | null)?.range;
    return !!r && r[0] <= offset && offset < Math.max(r[1], r[2]);
  };
  const path: (string | number)[] = [];
  let node: unknown = root;
  for (;;) {
    if (y.isMap(node)) {
      const pairs = node.items.filter((p) => y.isPair(p));
      const hit = pairs.find((p) => y.isScalar(p.key) && p.key.range?.[0] === offset);
      if (hit) {
        const key = (hit.key as Yaml.Scalar).value;
        // yaml's uniqueKeys test: equal scalar values.
        const first = pairs.find((p) => y.isScalar(p.key) && p.key.value === key);
        const firstOffset = first !== hit ? (first?.key as Yaml.Scalar | undefined)?.range?.[0] : undefined;
        return { path: [...path, String(key)], firstOffset };
      }
      const inner = pairs.find((p) => within(p.value));
      if (!inner || !y.isScalar(inner.key)) return undefined;
      path.push(String(inner.key.value));
      node = inner.value;
    } else if (y.isSeq(node)) {
      const i = node.items.findIndex(within);
      if (i < 0) return undefined;
      path.push(i);
      node = node.items[i];
    } else {
      return undefined;
    }
  }
}

/**
 * The position of a field as {@link locateNode} finds it in the composed tree, from the tokens of
 * a document the fast path took; `undefined` when the answer needs the composed tree (an empty
 * value, whose place the Composer computes, or a block scalar).
 */
export function locateToken(core: YamlCore, root: CST.Token, path: readonly (string | number)[], key: boolean, pos: (o: number) => Position): Position | undefined {
  let node: CST.Token | undefined = root;
  let keyNode: CST.Token | undefined;
  let last: CST.Token = root;
  for (const seg of path) {
    keyNode = undefined;
    if (isMapToken(node)) {
      const item: CST.CollectionItem | undefined = node.items.find((it: CST.CollectionItem) => it.key && tokenKey(core, it.key) === String(seg));
      if (!item) break;
      keyNode = item.key!;
      node = item.value;
      // The Composer gives an empty value a node of its own, placed by rules of its own.
      if (!node) return undefined;
    } else if (isSeqToken(node) && typeof seg === 'number') {
      const item: CST.CollectionItem | undefined = node.items[seg];
      if (item && !item.value) return undefined;
      node = item?.value;
    } else {
      break;
    }
    if (!node) break;
    last = node;
  }
  const target = key && keyNode ? keyNode : (node ?? last);
  if (target.type === 'block-scalar') return undefined;
  const quoted = target.type === 'double-quoted-scalar' || target.type === 'single-quoted-scalar';
  return quoted ? { ...pos(target.offset), quoted } : pos(target.offset);
}

function isSeqToken(t: CST.Token | undefined): t is CST.BlockSequence | CST.FlowCollection {
  return t?.type === 'block-seq' || (t?.type === 'flow-collection' && t.start.source === '[');
}

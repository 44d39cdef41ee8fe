/**
 * How deep a document nests its collections, checked on yaml's parser tokens before anything
 * recurses into them. Pure.
 */
import type { CST } from 'yaml';

/**
 * Deepest nesting of collections in one document (a manifest needs 5). The YAML composer
 * recurses once per level, so deeper documents are refused before composing, not with a
 * stack overflow.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * False when the text from `start` to `end` cannot hold collections nested past the limit: every
 * level of nesting has an indicator of its own (`:` or `?` of a block mapping's key, `-` of a
 * block sequence's item, `[` or `{` opening a flow collection), so a document with at most
 * {@link MAX_NESTING_DEPTH} of them is at most that deep. A manifest has about 30; counting them
 * costs a tenth of walking its tokens.
 */
export function mayNestPastLimit(text: string, start: number, end: number): boolean {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    // : ? - [ {
    if ((c === 58 || c === 63 || c === 45 || c === 91 || c === 123) && ++n > MAX_NESTING_DEPTH) return true;
  }
  return false;
}

/** Offset of the first collection nested deeper than {@link MAX_NESTING_DEPTH}, or null; iterative. */
export function nestingPastLimit(root: CST.Token | undefined): number | null {
  const stack: [CST.Token, number][] = root ? [[root, 1]] : [];
  let first: number | null = null;
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [token, depth] = next;
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth > MAX_NESTING_DEPTH) {
      first = first === null ? token.offset : Math.min(first, token.offset);
      continue;
    }
    for (const item of token.items) {
      if (item.value) stack.push([item.value, depth + 1]);
      if ('key' in item && item.key) stack.push([item.key, depth + 1]);
    }
  }
  return first;
}

/**
 * Bounded memos: the caches of pure computations keyed by a schedule, a zone or a pair of them.
 * A repository has thousands of jobs and a handful of distinct keys, so a memo rarely fills; when
 * one does (a hostile or generated repository), it starts again instead of growing without bound.
 */

/** True when two lists of strings (the keys a memoised result was made from) are the same, in order. */
export function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Stores `value` under `key` in `memo`, first emptying a memo that holds `max` entries; returns `value`. */
export function remember<K, V>(memo: Map<K, V>, max: number, key: K, value: V): V {
  if (memo.size >= max) memo.clear();
  memo.set(key, value);
  return value;
}

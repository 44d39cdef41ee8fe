/**
 * Shared strings for loaded documents (issue #16 item 7). The YAML parser gives every scalar of
 * every document a string of its own, and one of 13 characters or more is a slice that keeps the
 * whole file's text alive. A sync keeps its 10,000 jobs, so each of those strings is copied by
 * the young-generation GC and kept: about 1 KiB and a file's text per job, most of it the same
 * few values (tenant, labels, zone, command, durations). Replacing each string by an equal one
 * from a table shared across the files of one load lets the copies die young.
 */

/** An intern table: each string maps to the one copy kept. */
export type StringTable = Map<string, string>;

/**
 * Distinct strings remembered by one table: values shared by many jobs appear in the first
 * documents; past it, strings are only looked up (names and other unique values would only
 * grow the table).
 */
export const MAX_SHARED_STRINGS = 4096;

/**
 * Nodes (objects, arrays and strings) visited in one document at most, and the deepest level:
 * aliases can make a document's value a graph far larger than its text, or a cycle. Past either,
 * the rest is left as it is (sharing is only a saving). A manifest has about 50 nodes and 5 levels.
 */
export const MAX_SHARE_NODES = 4096;
export const MAX_SHARE_DEPTH = 64;

/**
 * Replaces, in place, each string in the arrays and plain objects of `value` (the output of
 * `toJS`) by the equal string of `table`, adding it when the table has room. Keys are left as
 * they are (V8 shares property names already), and so is anything but plain data. Equal
 * strings are interchangeable, so the document's value is unchanged.
 */
export function shareStrings(value: unknown, table: StringTable): void {
  shareIn(value, table, 0, MAX_SHARE_NODES);
}

/** {@link shareStrings} at `depth` with `budget` nodes left; returns the budget left after it. */
function shareIn(value: unknown, table: StringTable, depth: number, budget: number): number {
  if (typeof value !== 'object' || value === null || depth >= MAX_SHARE_DEPTH || --budget <= 0) return budget;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && budget > 0; i++) {
      const v: unknown = value[i];
      if (typeof v === 'string') {
        value[i] = shared(v, table);
        budget--;
      } else {
        budget = shareIn(v, table, depth + 1, budget);
      }
    }
    return budget;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return budget;
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (budget <= 0) break;
    const v = o[k];
    if (typeof v === 'string') {
      // `__proto__` as an own key (a YAML key of that name) is never assigned to: that would set the prototype.
      if (k !== '__proto__') o[k] = shared(v, table);
      budget--;
    } else {
      budget = shareIn(v, table, depth + 1, budget);
    }
  }
  return budget;
}

function shared(s: string, table: StringTable): string {
  const kept = table.get(s);
  if (kept !== undefined) return kept;
  if (table.size < MAX_SHARED_STRINGS) table.set(s, s);
  return s;
}

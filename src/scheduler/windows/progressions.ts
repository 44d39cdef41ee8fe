/**
 * Covering a set of minutes with arithmetic progressions: one progression is one trigger
 * (a first start plus a Repetition of a fixed interval), so fewer progressions mean fewer
 * triggers. Pure.
 */

/** One progression: `count` starts, `step` minutes apart, from `start`. */
export interface Progression {
  readonly start: number;
  readonly step: number;
  readonly count: number;
}

/** Splits sorted distinct values into maximal runs of a constant step, left to right. */
export function runsOf(sorted: readonly number[]): Progression[] {
  const out: Progression[] = [];
  for (let i = 0; i < sorted.length; ) {
    if (i + 1 >= sorted.length) {
      out.push({ start: sorted[i]!, step: 1, count: 1 });
      break;
    }
    const step = sorted[i + 1]! - sorted[i]!;
    let j = i + 1;
    while (j + 1 < sorted.length && sorted[j + 1]! - sorted[j]! === step) j++;
    out.push({ start: sorted[i]!, step, count: j - i + 1 });
    i = j + 1;
  }
  return out;
}

function grouped(sorted: readonly number[], key: (v: number) => number): Progression[] {
  const groups = new Map<number, number[]>();
  for (const v of sorted) {
    const k = key(v);
    const g = groups.get(k);
    if (g) g.push(v);
    else groups.set(k, [v]);
  }
  return [...groups.values()].flatMap(runsOf);
}

/** Greedy cover: from the smallest value left, the longest progression through values left. */
function greedy(sorted: readonly number[]): Progression[] {
  const left = new Set(sorted);
  const out: Progression[] = [];
  for (const first of sorted) {
    if (!left.has(first)) continue;
    let best: Progression = { start: first, step: 1, count: 1 };
    for (const next of sorted) {
      if (next <= first || !left.has(next)) continue;
      const step = next - first;
      if ((sorted[sorted.length - 1]! - first) / step + 1 <= best.count) break;
      let count = 1;
      while (left.has(first + count * step)) count++;
      if (count > best.count) best = { start: first, step, count };
    }
    for (let k = 0; k < best.count; k++) left.delete(first + k * best.step);
    out.push(best);
  }
  return out;
}

/** The values a progression covers. */
export function valuesOf(p: Progression): number[] {
  return Array.from({ length: p.count }, (_, k) => p.start + k * p.step);
}

/**
 * A small set of progressions covering exactly `values` (each value once): the fewest of a
 * few strategies (one run; runs per minute of the hour, i.e. hourly columns; runs per hour;
 * a greedy cover for small sets). Deterministic.
 */
export function coverExactly(values: Iterable<number>): Progression[] {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const candidates = [runsOf(sorted), grouped(sorted, (v) => v % 60), grouped(sorted, (v) => Math.floor(v / 60))];
  if (sorted.length <= 240) candidates.push(greedy(sorted));
  let best = candidates[0]!;
  for (const c of candidates) if (c.length < best.length) best = c;
  return best;
}

/** Typo suggestions for unknown names: manifest and config fields, environment variables. */

/**
 * The known name a user most likely meant by `word`, or undefined when none is close: the same
 * name in another case, else the nearest within `maxDistance` edits, else one sharing its first
 * four characters.
 */
export function closestName(word: string, names: readonly string[], maxDistance = 2): string | undefined {
  const lower = word.toLowerCase();
  const exact = names.find((n) => n.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const n of names) {
    const d = distance(n.toLowerCase(), lower);
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return best ?? names.find((n) => n.length >= 4 && lower.length >= 4 && n.slice(0, 4).toLowerCase() === lower.slice(0, 4));
}

/** Levenshtein distance between two strings. */
export function distance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

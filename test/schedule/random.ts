/** Seeded generators of random valid cron schedules, shared by the schedule tests. */

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function int(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

function field(rand: () => number, lo: number, hi: number, star: number, names?: string[], nameBase = 0): string {
  const r = rand();
  const val = (v = int(rand, lo, hi)): string => {
    return names && rand() < 0.3 && v - nameBase < names.length ? names[v - nameBase]! : String(v);
  };
  if (r < star) return '*';
  if (r < star + 0.15) return `*/${int(rand, 2, Math.max(2, Math.floor((hi - lo + 1) / 2)))}`;
  if (r < star + 0.3) {
    const a = int(rand, lo, hi);
    const b = int(rand, a, hi);
    return rand() < 0.5 ? `${a}-${b}` : `${a}-${b}/${int(rand, 1, 5)}`;
  }
  if (r < star + 0.45) {
    const n = int(rand, 2, 4);
    const vals = new Set<number>();
    for (let i = 0; i < n; i++) vals.add(int(rand, lo, hi));
    return [...vals].map((v) => val(v)).join(',');
  }
  return val();
}

/** A random valid 5-field schedule; `dense` favours `*` in the minute and hour fields. */
export function randomSchedule(rand: () => number, dense = false): string {
  return [
    field(rand, 0, 59, dense ? 0.3 : 0.1),
    field(rand, 0, 23, dense ? 0.5 : 0.25),
    field(rand, 1, 31, 0.6),
    field(rand, 1, 12, 0.6, MONTHS, 1),
    field(rand, 0, 6, 0.6, DAYS, 0),
  ].join(' ');
}

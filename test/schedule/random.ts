/** Seeded generators of random valid cron schedules, shared by the schedule tests. */

import { mulberry32 } from '../../bench/lib/random.mjs';

/** mulberry32 (bench/lib/random.mjs): a tiny deterministic PRNG returning floats in [0, 1). */
export const prng: (seed: number) => () => number = mulberry32;

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

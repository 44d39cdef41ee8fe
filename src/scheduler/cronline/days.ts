/**
 * Day sets of host cron lines: which calendar days a line fires on, in a form that Debian
 * cron reads exactly. A DaySet matches a day when its month is in `months` and either
 * `all` is set, or its day of month is in `dom`, or its day of week is in `dow`. Rendered
 * with explicit lists (never a field starting with `*` unless it is exactly `*`), Debian's
 * DOM_STAR/DOW_STAR rule gives exactly this meaning (SPEC §2a rule 1).
 *
 * Bit masks: months bit m-1 (m = 1..12), dom bit d-1 (d = 1..31), dow bit w (w = 0..6).
 */

/** All twelve months. */
export const ALL_MONTHS = 0xfff;
/** Days 1..31. */
export const ALL_DOM = 0x7fffffff;
/** Sunday..Saturday. */
export const ALL_DOW = 0x7f;

/** DaySet is the day part of a host cron line (see module comment). */
export interface DaySet {
  readonly months: number;
  readonly all: boolean;
  readonly dom: number;
  readonly dow: number;
}

/** Builds a normalised DaySet; returns null when it matches no day. */
export function daySet(months: number, all: boolean, dom: number, dow: number): DaySet | null {
  const m = months & ALL_MONTHS;
  const d = dom & ALL_DOM;
  const w = dow & ALL_DOW;
  if (m === 0) return null;
  if (all || d === ALL_DOM || w === ALL_DOW) return { months: m, all: true, dom: 0, dow: 0 };
  if (d === 0 && w === 0) return null;
  return { months: m, all: false, dom: d, dow: w };
}

/** A stable string key of a DaySet, for grouping. */
export function dayKey(s: DaySet): string {
  return s.all ? `${s.months}:*` : `${s.months}:${s.dom}:${s.dow}`;
}

/** The smallest DaySet that contains both (a superset when no exact union exists). */
export function joinDays(a: DaySet, b: DaySet): DaySet {
  return daySet(a.months | b.months, a.all || b.all, a.dom | b.dom, a.dow | b.dow)!;
}

function rotateMonths(mask: number, by: number): number {
  let out = 0;
  for (let m = 0; m < 12; m++) if (mask & (1 << m)) out |= 1 << ((((m + by) % 12) + 12) % 12);
  return out;
}

function rotateDow(mask: number, by: number): number {
  let out = 0;
  for (let w = 0; w < 7; w++) if (mask & (1 << w)) out |= 1 << ((((w + by) % 7) + 7) % 7);
  return out;
}

function bitRange(from: number, to: number): number {
  let out = 0;
  for (let d = from; d <= to; d++) out |= 1 << (d - 1);
  return out;
}

/**
 * The host days of the job days in `s` moved by `k` calendar days (k = -2..2): a day-exact
 * shift within a month, plus a superset for days that cross a month boundary (the last or
 * first |k| days of the neighbouring months, on any weekday).
 */
export function shiftDays(s: DaySet, k: number): DaySet[] {
  if (k === 0) return [s];
  const out: DaySet[] = [];
  let dom = 0;
  if (!s.all) {
    for (let d = 1; d <= 31; d++) if (s.dom & (1 << (d - 1)) && d + k >= 1 && d + k <= 31) dom |= 1 << (d + k - 1);
  }
  const main = daySet(s.months, s.all, dom, rotateDow(s.dow, k));
  if (main) out.push(main);
  // Job days near a month end (or start) land in the neighbouring month after the shift.
  const wraps = s.all || s.dow !== 0 || (k > 0 ? (s.dom >>> (28 - k)) !== 0 : (s.dom & bitRange(1, -k)) !== 0);
  if (wraps) {
    const wrapDom = k > 0 ? bitRange(1, k) : bitRange(29 + k, 31);
    const wrap = daySet(rotateMonths(s.months, Math.sign(k)), false, wrapDom, 0);
    if (wrap) out.push(wrap);
  }
  return out;
}

/** Does the DaySet match the calendar day (month 1-12, day 1-31, dow 0-6)? */
export function daysMatch(s: DaySet, month: number, day: number, dow: number): boolean {
  if (!(s.months & (1 << (month - 1)))) return false;
  return s.all || (s.dom & (1 << (day - 1))) !== 0 || (s.dow & (1 << dow)) !== 0;
}

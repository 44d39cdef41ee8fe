/**
 * The fire-time iterator of SPEC §2a, implemented once for every adapter, the `exec` guard,
 * `status` (next run) and the fidelity tests.
 *
 * A schedule is matched on the wall clock of its zone. Ordinary minutes fire when they match;
 * a matching wall minute inside a spring-forward gap fires once, shifted forward by the gap's
 * length (i.e. read with the offset in force before the gap); in a fall-back overlap a job
 * whose hour field is exactly `*` fires in both passes and any other job only in the first.
 *
 * The iterator walks wall-clock days, skipping non-matching days and months with plain
 * arithmetic, and resolves each matching day against the zone's offset transitions found in a
 * window around it. It is bounded (it stops after 28 years without a fire) and yields strictly
 * increasing instants, so no schedule and no zone can make it hang or repeat.
 */

import { ManifestError } from '../errors.js';
import { dayMatches, parseCron } from './cron.js';
import type { CronSpec } from './cron.js';
import { isValidTimeZone, offsetAt, transitionsBetween } from './zone.js';
import type { Transition } from './zone.js';

const MS_MINUTE = 60_000;
const MS_DAY = 86_400_000;
/** Further than any UTC offset (-12h..+14h) plus any DST gap: bounds a wall day's instants. */
const REACH = 16 * 3_600_000;
/** Days without any fire after which the iterator gives up: a full solar/weekday cycle. */
const IDLE_LIMIT_DAYS = 28 * 366;

const minuteLists = new WeakMap<CronSpec, Int32Array>();

/** Matching minutes of a matching day, as milliseconds after wall midnight, ascending. */
function minutesOfDay(spec: CronSpec): Int32Array {
  let list = minuteLists.get(spec);
  if (!list) {
    list = new Int32Array(spec.hours.length * spec.minutes.length);
    let i = 0;
    for (const h of spec.hours) for (const m of spec.minutes) list[i++] = (h * 60 + m) * MS_MINUTE;
    minuteLists.set(spec, list);
  }
  return list;
}

/** Pushes `w - shift` for every matching wall time `w` in [lo, hi) of the day starting at `dayStart`. */
function collect(
  mins: Int32Array,
  dayStart: number,
  lo: number,
  hi: number,
  shift: number,
  out: number[],
  keep: (wall: number) => boolean,
): void {
  const from = Math.max(lo, dayStart);
  const to = Math.min(hi, dayStart + MS_DAY);
  if (from >= to) return;
  for (let i = 0; i < mins.length; i++) {
    const w = dayStart + mins[i]!;
    if (w < from) continue;
    if (w >= to) break;
    if (keep(w)) out.push(w - shift);
  }
}

/**
 * The fire instants (epoch ms, ascending, unique) of the wall-clock day starting at
 * `dayStart` (that date's 00:00 read as UTC). The caller has checked that the day matches.
 */
function dayFires(spec: CronSpec, zone: string, dayStart: number): number[] {
  const mins = minutesOfDay(spec);
  const lo = dayStart - REACH;
  const hi = dayStart + MS_DAY + REACH;
  const transitions = transitionsBetween(zone, lo, hi);
  const out: number[] = [];
  let segStart = lo;
  let offset = offsetAt(zone, lo);
  let maxWallSeen = -Infinity;
  for (let i = 0; i <= transitions.length; i++) {
    const tr = transitions[i];
    const segEnd = tr ? tr.at : hi;
    const seenBefore = maxWallSeen;
    // Rule 4: a wall minute already shown before (second pass of a fall-back) fires only
    // when the hour field is `*`.
    collect(mins, dayStart, segStart + offset, segEnd + offset, offset, out,
      (w) => w >= seenBefore || spec.hourIsStar);
    maxWallSeen = Math.max(maxWallSeen, segEnd + offset);
    if (!tr) break;
    if (tr.after > tr.before) {
      // Rule 3: wall minutes skipped by the gap fire once, read with the old offset.
      const gapFrom = tr.at + tr.before;
      const seen = maxWallSeen;
      collect(mins, dayStart, gapFrom, tr.at + tr.after, tr.before, out, (w) => w >= seen);
      maxWallSeen = Math.max(maxWallSeen, tr.at + tr.after);
    }
    segStart = tr.at;
    offset = tr.after;
  }
  out.sort((a, b) => a - b);
  const unique: number[] = [];
  for (const t of out) if (unique.length === 0 || unique[unique.length - 1] !== t) unique.push(t);
  return unique;
}

function dayMatchesAt(spec: CronSpec, dayNumber: number): boolean {
  const d = new Date(dayNumber * MS_DAY);
  return dayMatches(spec, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCDay());
}

/**
 * How many minutes after its fire time a scheduled run may still start (every adapter: the
 * `exec --scheduled` guard and the embedded loop). cron runs the lines of a skipped hour when
 * the clock jumps forward and sleeps 10 s after each batch, so with several jobs in the gap a
 * fire right after it starts a minute or more late. A fire found later than this (a host that
 * slept or was suspended, a clock stepped forward) is missed, not run.
 */
export const LATE_START_MINUTES = 10;

/**
 * Resolves a schedule argument to a CronSpec and checks the zone.
 * @throws {ManifestError} when the expression or the zone is invalid.
 */
export function resolveSchedule(schedule: CronSpec | string, zone: string): CronSpec {
  if (!isValidTimeZone(zone)) {
    throw new ManifestError(`unknown time zone "${String(zone)}"`, { rule: 'timezone', zone });
  }
  if (typeof schedule !== 'string') return schedule;
  const parsed = parseCron(schedule);
  if (!parsed.ok) {
    throw new ManifestError(`invalid schedule "${schedule}": ${parsed.error.message}`, { ...parsed.error });
  }
  return parsed.value;
}

/**
 * Yields the fire instants of `schedule` in `zone` strictly after `from`, in strictly
 * increasing order, following SPEC §2a. Infinite for schedules that keep firing; returns
 * after 28 years without a fire (e.g. `0 0 31 2 *`). Never hangs.
 * @throws {ManifestError} when the schedule string or the zone is invalid (on first `next()`).
 */
export function* nextFires(schedule: CronSpec | string, zone: string, from: Date): Generator<Date, void, undefined> {
  const spec = resolveSchedule(schedule, zone);
  const fromMs = from.getTime();
  if (!Number.isFinite(fromMs)) throw new ManifestError('nextFires: "from" is not a valid date', {});
  // Start one wall day early: a fall-back across midnight can replay the previous date.
  let day = Math.floor((fromMs + offsetAt(zone, fromMs)) / MS_DAY) - 1;
  let last = fromMs;
  let buffer: number[] = [];
  let head = 0;
  let idle = 0;
  for (;;) {
    // Every fire of wall day `day` or later is at or after this instant.
    const floor = day * MS_DAY - REACH;
    while (head < buffer.length && buffer[head]! < floor) {
      const t = buffer[head++]!;
      if (t > last) {
        last = t;
        yield new Date(t);
      }
    }
    if (head === buffer.length && idle > IDLE_LIMIT_DAYS) return;
    const date = new Date(day * MS_DAY);
    if (!spec.monthBits[date.getUTCMonth() + 1]) {
      // Skip to the first day of the next month.
      const next = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / MS_DAY;
      idle += next - day;
      day = next;
      continue;
    }
    let added = false;
    if (dayMatchesAt(spec, day)) {
      const fires = dayFires(spec, zone, day * MS_DAY);
      const fresh = fires.filter((t) => t > last);
      if (fresh.length > 0) {
        buffer = buffer.slice(head).concat(fresh).sort((a, b) => a - b);
        head = 0;
        added = true;
      }
    }
    idle = added ? 0 : idle + 1;
    day++;
  }
}

/**
 * The first fire of `schedule` in `zone` strictly after `from`, or null if there is none
 * within 28 years (`0 0 29 2 *` is still found, across 2100 which is not a leap year).
 */
export function firstFire(schedule: CronSpec | string, zone: string, from: Date): Date | null {
  const it = nextFires(schedule, zone, from);
  const r = it.next();
  it.return(undefined);
  return r.done ? null : r.value;
}

/**
 * Collects at most `limit` fires in (`from`, `to`]. Convenience for status and tests.
 */
export function firesBetween(schedule: CronSpec | string, zone: string, from: Date, to: Date, limit = 10_000): Date[] {
  const out: Date[] = [];
  const toMs = to.getTime();
  for (const t of nextFires(schedule, zone, from)) {
    if (t.getTime() > toMs || out.length >= limit) break;
    out.push(t);
  }
  return out;
}

/**
 * Is `instant` (truncated to its UTC minute) a §2a fire time of `schedule` in `zone`? Used
 * by the `exec` guard. Decides the one minute directly instead of listing days of fires: the
 * minute fires when the wall time it shows matches and was not shown before on that wall day
 * (rule 4, unless the hour field is `*`), or when it is the shifted copy of a matching wall
 * minute skipped by a spring-forward gap (rule 3). Exactly the set {@link nextFires} yields
 * (see test/schedule/isfiretime.test.ts), with the same transition window per wall day.
 * @throws {ManifestError} when the schedule string or the zone is invalid.
 */
export function isFireTime(schedule: CronSpec | string, zone: string, instant: Date): boolean {
  const spec = resolveSchedule(schedule, zone);
  const t = Math.floor(instant.getTime() / MS_MINUTE) * MS_MINUTE;
  if (!Number.isFinite(t)) return false;
  if (firesAt(spec, zone, t, t + offsetAt(zone, t), null)) return true;
  // Rule 3: `t` may be the shifted copy of a gap minute; a gap (offset change) is under 2 days.
  for (const tr of transitionsBetween(zone, t - 2 * MS_DAY, t + 1)) {
    if (tr.after > tr.before && t < tr.at + (tr.after - tr.before) && firesAt(spec, zone, t, t + tr.before, tr)) return true;
  }
  return false;
}

/**
 * Does instant `t` fire as wall time `wall` of its wall day, as {@link dayFires} decides: read
 * in its own segment (`gap` null) or as the skipped minute of transition `gap`?
 */
function firesAt(spec: CronSpec, zone: string, t: number, wall: number, gap: Transition | null): boolean {
  // Matching wall times are whole minutes of a matching day, hour and minute.
  if (wall % MS_MINUTE !== 0) return false;
  const day = Math.floor(wall / MS_DAY);
  const dayStart = day * MS_DAY;
  const minuteOfDay = (wall - dayStart) / MS_MINUTE;
  if (!spec.hourBits[Math.floor(minuteOfDay / 60)] || !spec.minuteBits[minuteOfDay % 60] || !dayMatchesAt(spec, day)) return false;
  // dayFires(day) only sees instants and transitions inside its window.
  const lo = dayStart - REACH;
  const hi = dayStart + MS_DAY + REACH;
  if (gap ? gap.at < lo || gap.at >= hi : t < lo || t >= hi) return false;
  // The latest wall time shown before this segment (or gap) since the window began.
  let seen = -Infinity;
  for (const tr of transitionsBetween(zone, lo, gap ? gap.at : t + 1)) seen = Math.max(seen, tr.at + Math.max(tr.before, tr.after));
  return gap ? wall >= seen : wall >= seen || spec.hourIsStar;
}

/**
 * True when `schedule` can never fire (`0 0 31 2 *`, `0 0 30 2 *`, `0 0 31 4,6,9,11 *`).
 * `0 0 31 2 1` does fire: with both day fields restricted, every Monday of February matches.
 * Built on the iterator: no fire within 28 years of a fixed reference date means never.
 */
export function neverFires(schedule: CronSpec | string, zone: string): boolean {
  return firstFire(schedule, zone, new Date(Date.UTC(2000, 0, 1))) === null;
}

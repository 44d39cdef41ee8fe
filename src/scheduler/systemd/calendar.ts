/**
 * A job's schedule as systemd `OnCalendar=` lines (systemd.time(7)), SPEC §2a and §8.
 *
 * Recurring lines carry the job's own zone (`*-*-* 02:30:00 Europe/Berlin`), so systemd does
 * the zone arithmetic and the host's zone never matters. Each field is written from the
 * values the schedule matches: a run is `a..b`, a single arithmetic progression `a..b/c`,
 * weekdays are names (`Mon..Fri`). systemd ANDs weekday and day of month, so a schedule
 * with both restricted (cron ORs them, §2a rule 1) becomes two lines.
 *
 * systemd's calendar differs from §2a at DST changes: it skips a time that falls in a
 * spring-forward gap for that day, and at a fall-back it fires only in the first pass. So
 * every transition of the job's zone from two days before the render time to a year after it
 * gets dated lines in UTC (`2026-03-29 01:30:00 UTC`) that name every §2a fire of the
 * transition's affected span: the shifted gap and the rest of its day (see datedSpan), or both
 * passes of the repeated time. Whatever the recurring lines do in that span, their starts are
 * either fires, which the exec guard (`cronsync exec --scheduled`) runs once per instant, or
 * not, which it rejects.
 */
import { firesBetween } from '../../schedule/fires.js';
import type { CronSpec } from '../../schedule/cron.js';
import { isUtcName } from '../../schedule/zone.js';
import type { Transition } from '../../schedule/zone.js';
import { affectedSpan, datedTransitions } from '../dst.js';

const MS_MIN = 60_000;
const MS_HOUR = 3_600_000;
const MS_DAY = 86_400_000;

/** systemd's weekday names, indexed by cron's day of week (0 = Sunday). */
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
/** Weekdays in systemd's order (Monday first), so no range wraps around the week. */
const WEEK_ORDER = [1, 2, 3, 4, 5, 6, 0] as const;

const pad = (n: number): string => String(n).padStart(2, '0');

/** Consecutive runs of ascending values. */
function runs(values: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const v of values) {
    const last = out[out.length - 1];
    if (last && v === last[1] + 1) last[1] = v;
    else out.push([v, v]);
  }
  return out;
}

/**
 * One calendar field from its matching values (ascending): `*` for all of min..max, else
 * `a..b/c` for one progression of three or more, else a list of values and `a..b` runs.
 */
export function calendarField(values: readonly number[], min: number, max: number, fmt: (n: number) => string = String): string {
  if (values.length === max - min + 1) return '*';
  const step = values.length >= 3 ? values[1]! - values[0]! : 0;
  if (step > 1 && values.every((v, i) => v === values[0]! + i * step)) return `${fmt(values[0]!)}..${fmt(values.at(-1)!)}/${step}`;
  return runs(values).map(([a, b]) => (a === b ? fmt(a) : b === a + 1 ? `${fmt(a)},${fmt(b)}` : `${fmt(a)}..${fmt(b)}`)).join(',');
}

/** The weekday field: names in Monday-first order, runs of three or more as `Mon..Fri`. */
export function weekdayField(days: readonly number[]): string {
  const order = WEEK_ORDER.filter((d) => days.includes(d)).map((d) => WEEK_ORDER.indexOf(d));
  const name = (i: number): string => WEEKDAYS[WEEK_ORDER[i]!];
  return runs(order).map(([a, b]) => (a === b ? name(a) : b === a + 1 ? `${name(a)},${name(b)}` : `${name(a)}..${name(b)}`)).join(',');
}

/** The zone suffix systemd reads: `UTC` for UTC itself (no child process), else the IANA name. */
export function zoneSuffix(zone: string): string {
  return isUtcName(zone) ? 'UTC' : zone;
}

/** The recurring `OnCalendar=` values of a schedule in `zone` (one, or two for cron's day OR). */
export function recurringLines(spec: CronSpec, zone: string): string[] {
  const months = calendarField(spec.months, 1, 12, pad);
  const time = `${calendarField(spec.hours, 0, 23, pad)}:${calendarField(spec.minutes, 0, 59, pad)}:00 ${zoneSuffix(zone)}`;
  const byWeekday = `${weekdayField(spec.daysOfWeek)} *-${months}-* ${time}`;
  const byDay = `*-${months}-${calendarField(spec.daysOfMonth, 1, 31, pad)} ${time}`;
  if (spec.domRestricted && spec.dowRestricted) return [byWeekday, byDay];
  if (spec.dowRestricted) return [byWeekday];
  return [byDay];
}

/** Dated lines naming exactly `instants` (whole minutes), one line per UTC hour. */
export function datedLines(instants: readonly number[]): string[] {
  const byHour = new Map<number, number[]>();
  for (const t of [...new Set(instants)].sort((a, b) => a - b)) {
    const hour = Math.floor(t / MS_HOUR) * MS_HOUR;
    const list = byHour.get(hour) ?? [];
    list.push(Math.floor((t - hour) / MS_MIN));
    byHour.set(hour, list);
  }
  return [...byHour].map(([hour, minutes]) => {
    const d = new Date(hour);
    return `${d.toISOString().slice(0, 10)} ${pad(d.getUTCHours())}:${calendarField(minutes, 0, 59, pad)}:00 UTC`;
  });
}

/**
 * The span of a transition the dated lines cover: its affected span (../dst.ts), and after a
 * spring-forward the rest of that local day too. systemd (252) may give up on the whole day once
 * a time of a recurring line falls in the gap: in Europe/Dublin, whose tz data has a negative
 * DST, `Sun *-*-* 01..03:00:00 Europe/Dublin` finds 01:00 missing on 2027-03-28 and goes on to
 * the next Sunday, losing 03:00 IST, where the same line in Europe/London reaches it.
 */
function datedSpan(tr: Transition): { from: number; to: number } {
  const span = affectedSpan(tr);
  if (tr.after <= tr.before) return span;
  const dayEnd = Math.ceil((tr.at + tr.after) / MS_DAY) * MS_DAY - tr.after;
  return { from: span.from, to: Math.max(span.to, dayEnd) };
}

/** The §2a fires (epoch ms) of the dated spans of `zone`'s transitions around `now`. */
export function transitionFires(spec: CronSpec, zone: string, now: number): number[] {
  const out: number[] = [];
  for (const tr of datedTransitions(zone, now)) {
    const { from, to } = datedSpan(tr);
    for (const d of firesBetween(spec, zone, new Date(from - 1), new Date(to - 1), 10_000)) out.push(d.getTime());
  }
  return out;
}

/** Every `OnCalendar=` value of a job: the recurring lines, then the dated ones. */
export interface CalendarLines {
  recurring: string[];
  dated: string[];
}

/** The `OnCalendar=` values of `spec` in `zone` rendered at `now` (epoch ms). Pure. */
export function calendarLines(spec: CronSpec, zone: string, now: number): CalendarLines {
  return { recurring: recurringLines(spec, zone), dated: datedLines(transitionFires(spec, zone, now)) };
}

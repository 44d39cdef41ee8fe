/**
 * A job's schedule as Task Scheduler triggers (SPEC §2a, §8), at most {@link MAX_TRIGGERS}.
 *
 * Recurring triggers: the host cron lines of the cron adapters' zone-pair translation
 * (cronline/translate.ts, without Debian's DST rules), i.e. host-local wall minutes on host
 * days that cover every fire instant of the job. Each day set becomes one or two schedules
 * (ScheduleByDay/ByWeek/ByMonth/ByMonthDayOfWeek; day of month OR day of week is two) and
 * the minutes of the day a few arithmetic progressions (a start time plus a Repetition).
 *
 * Host DST transitions: Microsoft documents that a start time in a spring-forward gap runs at
 * the first minute after it, but not whether a repeated (fall-back) time runs once or twice,
 * nor whether a Repetition steps in elapsed or wall-clock time across a change. So that
 * correctness depends on none of these, every transition in the horizon gets dated one-time
 * triggers at absolute UTC instants that start every §2a fire of its affected span: the
 * shifted gap or both passes of the repeated time, extended to the end of every Repetition
 * window that overlaps it. Dated triggers never repeat across the transition itself.
 * Whatever the recurring triggers do in that span, their starts are either fires (which the
 * exec guard runs once per instant) or not (which it rejects).
 *
 * When the exact set needs more than 48 triggers, coarser supersets are tried in order (dated
 * spans as every-minute runs; minute grids; one day set; every minute): the finest that fits
 * wins, and the exec guard keeps only the fires. Never an approximation.
 */
import { SchedulerError } from '../../errors.js';
import { firesBetween, resolveSchedule } from '../../schedule/fires.js';
import type { CronSpec } from '../../schedule/cron.js';
import { canonicalTimeZone, offsetAt } from '../../schedule/zone.js';
import type { Transition } from '../../schedule/zone.js';
import { ALL_MONTHS, dayKey, daysMatch, joinDays } from '../cronline/days.js';
import type { DaySet } from '../cronline/days.js';
import { translateSchedule } from '../cronline/translate.js';
import { affectedSpan, datedTransitions } from '../dst.js';
import type { Horizon } from '../cronline/zones.js';
import { coverExactly, runsOf } from './progressions.js';
import type { Progression } from './progressions.js';
import { MAX_TRIGGERS } from './types.js';
import type { CalendarTriggerSpec, DaySchedule, DatedTriggerSpec, TaskRepetition, TriggerSet, TriggerSpec } from './types.js';

const MS_MIN = 60_000;
const MS_DAY = 86_400_000;

/** Options of {@link jobTriggers}. */
export interface TriggerOptions {
  /** The render time: dated triggers cover the host transitions from 2 days before to a year after it. */
  now?: Date;
  /** Years scanned by the zone-pair translation (tests only). */
  horizon?: Horizon;
}

/** Host minutes of the day per host day set. */
interface DayGroup {
  days: DaySet;
  minutes: number[];
}

/** The one or two schedules that together run on exactly the days of `d`. */
export function daySchedules(d: DaySet): DaySchedule[] {
  const months = bits(d.months, 1, 12, 1);
  if (d.all) return d.months === ALL_MONTHS ? [{ by: 'day' }] : [{ by: 'month', daysOfMonth: range(1, 31), months }];
  const out: DaySchedule[] = [];
  if (d.dom !== 0) out.push({ by: 'month', daysOfMonth: bits(d.dom, 1, 31, 1), months });
  if (d.dow !== 0) {
    const daysOfWeek = bits(d.dow, 0, 6, 0);
    out.push(d.months === ALL_MONTHS ? { by: 'week', daysOfWeek } : { by: 'monthDayOfWeek', weeks: [1, 2, 3, 4, 'Last'], daysOfWeek, months });
  }
  return out;
}

function bits(mask: number, from: number, to: number, offset: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v++) if (mask & (1 << (v - offset))) out.push(v);
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function repetitionOf(p: Progression): TaskRepetition | undefined {
  // Half a minute past the last start: the last start is inside the duration whether Task
  // Scheduler ends it inclusively or not, and the next one is outside.
  return p.count < 2 ? undefined : { intervalMinutes: p.step, durationSeconds: (p.count - 1) * p.step * 60 + 30 };
}

function dayGroups(spec: CronSpec, jobZone: string, hostZone: string, horizon?: Horizon): DayGroup[] {
  const groups = new Map<string, DayGroup>();
  for (const line of translateSchedule(spec, jobZone, hostZone, horizon, { debianDst: false })) {
    const key = dayKey(line.days);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { days: line.days, minutes: [] }));
    for (const h of line.hours) for (const m of line.minutes) g.minutes.push(h * 60 + m);
  }
  return [...groups.values()].sort((a, b) => dayKey(a.days).localeCompare(dayKey(b.days)));
}

/** A recurring trigger and the host days it runs on. */
interface Recurring {
  trigger: CalendarTriggerSpec;
  days: DaySet;
}

/** Recurring triggers of day groups, each group's minutes covered by `cover`. */
function calendarTriggers(groups: readonly DayGroup[], cover: (minutes: number[]) => Progression[]): Recurring[] {
  const out: Recurring[] = [];
  for (const g of groups) {
    const progressions = cover(g.minutes);
    for (const days of daySchedules(g.days)) {
      for (const p of progressions) {
        const repetition = repetitionOf(p);
        const trigger: CalendarTriggerSpec = repetition ? { type: 'calendar', minuteOfDay: p.start, days, repetition } : { type: 'calendar', minuteOfDay: p.start, days };
        out.push({ trigger, days: g.days });
      }
    }
  }
  return out;
}

/** Every hour present × every minute of the hour present: a superset grid. */
function gridCover(minutes: number[]): Progression[] {
  const hours = [...new Set(minutes.map((m) => Math.floor(m / 60)))].sort((a, b) => a - b);
  const mins = [...new Set(minutes.map((m) => m % 60))].sort((a, b) => a - b);
  return coverExactly(hours.flatMap((h) => mins.map((m) => h * 60 + m)));
}

/** Host wall time (ms, as if UTC) of an instant. */
function wallOf(zone: string, t: number): number {
  return t + offsetAt(zone, t);
}

/**
 * The end of the span of `tr` whose fires dated triggers must start: its affected span, or
 * the end of any repeating trigger's window on that day that overlaps it (either reading of
 * a window's end: wall clock, or elapsed time from its start).
 */
function spanEnd(tr: Transition, calendar: readonly Recurring[], hostZone: string): number {
  const span = affectedSpan(tr);
  let end = span.to;
  const wallFrom = Math.min(tr.at + tr.before, tr.at + tr.after);
  const wallTo = Math.max(tr.at + tr.before, tr.at + tr.after);
  const dayStart = Math.floor(wallOf(hostZone, span.from) / MS_DAY) * MS_DAY;
  for (const dayWall of [dayStart - MS_DAY, dayStart, dayStart + MS_DAY]) {
    const date = new Date(dayWall);
    for (const { trigger: c, days } of calendar) {
      if (!c.repetition || !daysMatch(days, date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCDay())) continue;
      const startWall = dayWall + c.minuteOfDay * MS_MIN;
      const endWall = startWall + c.repetition.durationSeconds * 1000;
      if (endWall < wallFrom || startWall > wallTo + MS_MIN) continue;
      // Wall end read in the new offset, and elapsed end from a start read in the old one.
      end = Math.max(end, endWall - tr.after + MS_MIN, startWall - tr.before + c.repetition.durationSeconds * 1000 + MS_MIN);
    }
  }
  return end;
}

/** Dated triggers starting every fire in [from, to), never one run across `cut`. */
function datedTriggers(spec: CronSpec, jobZone: string, from: number, to: number, cut: number, coarse: boolean): DatedTriggerSpec[] {
  const out: DatedTriggerSpec[] = [];
  for (const [a, b] of [[from, cut], [cut, to]] as const) {
    if (b <= a) continue;
    const fires = firesBetween(spec, jobZone, new Date(a - 1), new Date(b - 1), 100_000).map((d) => (d.getTime() - a) / MS_MIN);
    if (fires.length === 0) continue;
    const progressions = coarse ? runsOf(range(fires[0]!, fires[fires.length - 1]!)) : coverExactly(fires);
    for (const p of progressions) {
      const repetition = repetitionOf(p);
      out.push(repetition ? { type: 'dated', at: a + p.start * MS_MIN, repetition } : { type: 'dated', at: a + p.start * MS_MIN });
    }
  }
  return out;
}

/**
 * The triggers of `schedule` in `jobZone` for a Task Scheduler on a host in `hostZone` (see
 * module comment). Pure and deterministic for a given `now`; zones must be valid IANA names.
 * @throws {ManifestError} when the schedule is invalid.
 */
export function jobTriggers(schedule: string, jobZone: string, hostZone: string, options: TriggerOptions = {}): TriggerSet {
  const spec = resolveSchedule(schedule, jobZone);
  const now = (options.now ?? new Date()).getTime();
  // In the host's own zone the wall times are the schedule's; the transitions get dated triggers.
  const same = canonicalTimeZone(jobZone) === canonicalTimeZone(hostZone);
  const exactGroups = same ? dayGroups(spec, 'UTC', 'UTC') : dayGroups(spec, jobZone, hostZone, options.horizon);
  const transitions = datedTransitions(hostZone, now);
  const allDays = exactGroups.length === 0 ? [] : [{ days: exactGroups.map((g) => g.days).reduce(joinDays), minutes: exactGroups.flatMap((g) => g.minutes) }];
  const levels: { groups: DayGroup[]; cover: (m: number[]) => Progression[]; coarseDated: boolean }[] = [
    { groups: exactGroups, cover: coverExactly, coarseDated: false },
    { groups: exactGroups, cover: coverExactly, coarseDated: true },
    { groups: exactGroups, cover: gridCover, coarseDated: true },
    { groups: allDays, cover: gridCover, coarseDated: true },
    { groups: allDays.map((g) => ({ ...g, minutes: range(0, 1439) })), cover: coverExactly, coarseDated: true },
  ];
  let fewest = Infinity;
  for (const [i, level] of levels.entries()) {
    const calendar = calendarTriggers(level.groups, level.cover);
    if (calendar.length > MAX_TRIGGERS) continue;
    const dated: DatedTriggerSpec[] = [];
    for (const tr of transitions) {
      dated.push(...datedTriggers(spec, jobZone, affectedSpan(tr).from, spanEnd(tr, calendar, hostZone), tr.at, level.coarseDated));
    }
    const triggers: TriggerSpec[] = [...calendar.map((c) => c.trigger), ...dated];
    if (triggers.length <= MAX_TRIGGERS) return { triggers, fidelity: i === 0 ? 'exact' : 'superset', hostZone };
    fewest = Math.min(fewest, triggers.length);
  }
  // Only a host zone with many transitions a year gets here: never drop a trigger silently.
  throw new SchedulerError(`schedule "${schedule}" needs ${fewest} Task Scheduler triggers on a host in ${hostZone} (at most ${MAX_TRIGGERS})`, { schedule, hostZone });
}

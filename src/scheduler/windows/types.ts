/**
 * The Task Scheduler trigger model of the `windows` adapter: what triggers.ts computes from a
 * job (pure data) and render.ts writes as `<Triggers>` of a task (schema 1.2).
 *
 * Two kinds of trigger:
 * - recurring CalendarTriggers, whose StartBoundary is host-local wall time without an offset
 *   (`2024-01-01T02:30:00`), never a UTC offset (SPEC §8);
 * - dated one-time TimeTriggers that name an absolute instant in UTC (`2026-11-01T06:30:00Z`),
 *   added for the coming DST transitions of the host, where Task Scheduler's behaviour is not
 *   documented (see triggers.ts). UTC has no DST, so these mean one instant on any host.
 */

/** Repetition of a trigger: a start every `intervalMinutes`, for `durationSeconds` after the first. */
export interface TaskRepetition {
  /** PT1M .. P31D, in minutes. */
  readonly intervalMinutes: number;
  /** Written as Duration; always at least the interval. */
  readonly durationSeconds: number;
}

/** Which days a recurring trigger runs on (the schedule element of a CalendarTrigger). */
export type DaySchedule =
  /** ScheduleByDay, DaysInterval 1: every day. */
  | { readonly by: 'day' }
  /** ScheduleByWeek, WeeksInterval 1: these weekdays (0 = Sunday .. 6 = Saturday). */
  | { readonly by: 'week'; readonly daysOfWeek: readonly number[] }
  /** ScheduleByMonth: these days of these months (1..12); day 31 skips short months. */
  | { readonly by: 'month'; readonly daysOfMonth: readonly number[]; readonly months: readonly number[] }
  /**
   * ScheduleByMonthDayOfWeek: these weekdays in these weeks of these months. Week N is days
   * 7N-6..7N; `Last` is the final seven days of the month.
   */
  | { readonly by: 'monthDayOfWeek'; readonly weeks: readonly (1 | 2 | 3 | 4 | 'Last')[]; readonly daysOfWeek: readonly number[]; readonly months: readonly number[] };

/** A recurring trigger: host-local wall time of day, on the days of `days`. */
export interface CalendarTriggerSpec {
  readonly type: 'calendar';
  /** Host-local minute of the day of the first start (0..1439). */
  readonly minuteOfDay: number;
  readonly days: DaySchedule;
  readonly repetition?: TaskRepetition;
}

/** A one-time trigger at an absolute instant (UTC), with an optional repetition. */
export interface DatedTriggerSpec {
  readonly type: 'dated';
  /** Epoch milliseconds of the first start; a whole minute. */
  readonly at: number;
  readonly repetition?: TaskRepetition;
}

/** One trigger of a task. */
export type TriggerSpec = CalendarTriggerSpec | DatedTriggerSpec;

/** Task Scheduler accepts at most this many triggers per task (XSD triggersType). */
export const MAX_TRIGGERS = 48;

/** The date written in every recurring trigger's StartBoundary (any past date works). */
export const CALENDAR_ANCHOR_DATE = '2024-01-01';

/** How exact a job's trigger set is. */
export type TriggerFidelity =
  /** The triggers start the task at the job's fire instants on non-transition days (the guard rejects nothing there). */
  | 'exact'
  /** The triggers start a superset of the fire instants everywhere; the exec guard runs only the fires. */
  | 'superset';

/** The triggers of one job and how they were chosen. */
export interface TriggerSet {
  readonly triggers: readonly TriggerSpec[];
  readonly fidelity: TriggerFidelity;
  /** Host zone the recurring triggers' wall times are in. */
  readonly hostZone: string;
}

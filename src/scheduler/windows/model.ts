/**
 * The task model of the `windows` adapter: the parts of a task definition cronsync writes and
 * reads back. render.ts turns a model into task XML, parse.ts turns task XML (as Windows
 * exports it) into a model; both render the model the same way, so a task read back compares
 * equal to the job's rendering exactly when everything cronsync controls is unchanged.
 */
import type { DaySchedule, TaskRepetition, TriggerSpec } from './types.js';

/** Task Scheduler's task namespace. */
export const TASK_NS = 'http://schemas.microsoft.com/windows/2004/02/mit/task';

/** The SID of LocalSystem, the default principal. */
export const SYSTEM_SID = 'S-1-5-18';

/** Who a task runs as. */
export interface TaskPrincipal {
  readonly userId: string;
  /** S4U for a configured user (no stored password); null for SYSTEM (no LogonType element). */
  readonly logonType: 'S4U' | null;
  readonly runLevel: 'HighestAvailable' | 'LeastPrivilege';
}

/** The settings cronsync sets (others are left at Task Scheduler's defaults). */
export interface TaskSettings {
  readonly multipleInstancesPolicy: string;
  readonly disallowStartIfOnBatteries: boolean;
  readonly stopIfGoingOnBatteries: boolean;
  readonly startWhenAvailable: boolean;
  readonly enabled: boolean;
  /** 0 = no limit (PT0S). */
  readonly executionTimeLimitSeconds: number;
}

/** One task as cronsync writes it. */
export interface TaskModel {
  /** `\cronsync\<tenant>\<name>`. */
  readonly uri: string;
  /** RegistrationInfo/Source: the provenance marker line (marker.ts). */
  readonly source: string;
  /** RegistrationInfo/Description: for people. */
  readonly description: string;
  readonly triggers: readonly TriggerSpec[];
  readonly principal: TaskPrincipal;
  readonly settings: TaskSettings;
  readonly action: { readonly command: string; readonly arguments: string };
}

/**
 * The text the marker's entry hash covers: everything but the marker and description, so a
 * change made in the Task Scheduler UI (a trigger, the action, a setting, the principal) no
 * longer matches the marker.
 */
export function taskBody(m: TaskModel): string {
  return JSON.stringify({ uri: m.uri, triggers: m.triggers.map(normalizeTrigger), principal: m.principal, settings: m.settings, action: m.action });
}

/** Day names of DaysOfWeek, indexed 0 = Sunday .. 6 = Saturday (cron numbering). */
export const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** The order the XSD's daysOfWeekType lists the days in (Monday first). */
export const DAY_ORDER = [1, 2, 3, 4, 5, 6, 0] as const;

/** Month names of Months, indexed 1 = January .. 12 = December (index 0 unused). */
export const MONTH_NAMES = ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;

/**
 * The task path of a job: `<folder>\<tenant>\<name>`; the folder is normalised to one leading
 * and no trailing backslash (`\cronsync`, `cronsync\` → `\cronsync`; `\` → the root).
 */
export function taskPath(folder: string, jobId: string): string {
  return `${normalizeFolder(folder)}\\${jobId.replace('/', '\\')}`;
}

/** A task folder with one leading and no trailing backslash (`\` becomes ``, the root). */
export function normalizeFolder(folder: string): string {
  const inner = folder.replace(/^\\+|\\+$/g, '');
  return inner === '' ? '' : `\\${inner}`;
}

/** Is a task path inside a folder (any depth)? Task paths compare case-insensitively. */
export function inFolder(path: string, folder: string): boolean {
  return path.toLowerCase().startsWith(`${normalizeFolder(folder).toLowerCase()}\\`);
}

const uniq = (xs: readonly number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);

function normalizeDays(d: DaySchedule): DaySchedule {
  switch (d.by) {
    case 'day':
      return { by: 'day' };
    case 'week':
      return { by: 'week', daysOfWeek: uniq(d.daysOfWeek) };
    case 'month':
      return { by: 'month', daysOfMonth: uniq(d.daysOfMonth), months: uniq(d.months) };
    default:
      return { by: 'monthDayOfWeek', weeks: ([1, 2, 3, 4, 'Last'] as const).filter((w) => d.weeks.includes(w)), daysOfWeek: uniq(d.daysOfWeek), months: uniq(d.months) };
  }
}

function normalizeRepetition(r: TaskRepetition | undefined): { repetition?: TaskRepetition } {
  // Duration is written as at least the interval (XSD and issue: Duration >= Interval).
  return r ? { repetition: { intervalMinutes: r.intervalMinutes, durationSeconds: Math.max(r.durationSeconds, r.intervalMinutes * 60) } } : {};
}

/**
 * A trigger in canonical form (fixed key order, sorted unique lists, Duration at least the
 * interval): what render writes and parse reads back, so both hash the same.
 */
export function normalizeTrigger(t: TriggerSpec): TriggerSpec {
  return t.type === 'calendar'
    ? { type: 'calendar', minuteOfDay: t.minuteOfDay, days: normalizeDays(t.days), ...normalizeRepetition(t.repetition) }
    : { type: 'dated', at: t.at, ...normalizeRepetition(t.repetition) };
}

/**
 * Reads task XML back (SPEC §4): a task as Windows exports it → the task model, then an
 * inventory entry with the decoded marker, paused flag and drift. Lenient: anything cronsync
 * would not have written (another trigger type, an end boundary, a second action, a Data
 * element) is noted as an anomaly, which makes one of our tasks drifted and is harmless for a
 * foreign one.
 *
 * Settings are a whitelist, because most of them change whether or when a task runs
 * (RunOnlyIfIdle, RunOnlyIfNetworkAvailable, Priority, RestartOnFailure) while the model keeps
 * only the six cronsync writes: a child outside those six is drift unless it is one of the
 * defaults Windows adds on export, at its default value ({@link EXPORT_DEFAULTS}). A task as
 * Windows exports it is therefore not drift, and is not rewritten at every sync; any other edit
 * made in the Task Scheduler UI is undone at the next one.
 */
import type { InstalledEntry } from '../../plan/types.js';
import { decodeMarker, entryHash } from '../marker.js';
import { comparableBody, restoreModel, runsOf } from './codepage.js';
import { COMMENT_NODE, child, childText, elements, parseXml } from './dom.js';
import type { DomNode } from './dom.js';
import { parseDuration } from './duration.js';
import { DAY_NAMES, MONTH_NAMES, SYSTEM_SID, TASK_NS, taskBody } from './model.js';
import type { TaskModel, TaskPrincipal, TaskSettings } from './model.js';
import { renderTaskXml } from './render.js';
import { CALENDAR_ANCHOR_DATE } from './types.js';
import type { DaySchedule, TaskRepetition, TriggerSpec } from './types.js';

/** A task read back: its model and what in it cronsync would not have written. */
export interface ParsedTask {
  model: TaskModel;
  anomalies: string[];
}

const bool = (text: string | undefined, dflt: boolean): boolean => (text === undefined ? dflt : text === 'true' || text === '1');

function repetition(el: DomNode | undefined, notes: string[]): TaskRepetition | undefined {
  if (!el) return undefined;
  const interval = parseDuration(childText(el, 'Interval') ?? '');
  const durationText = childText(el, 'Duration');
  const duration = durationText === undefined ? null : parseDuration(durationText);
  if (interval === null || interval % 60 !== 0 || interval === 0) notes.push('repetition interval');
  if (duration === null) notes.push('repetition without a duration');
  if (bool(childText(el, 'StopAtDurationEnd'), false)) notes.push('StopAtDurationEnd');
  return { intervalMinutes: Math.floor((interval ?? 0) / 60), durationSeconds: duration ?? 0 };
}

function names(el: DomNode | undefined, list: readonly string[]): number[] {
  return el ? elements(el).map((e) => list.indexOf(e.localName ?? '')).filter((i) => i >= 0).sort((a, b) => a - b) : [];
}

function daySchedule(t: DomNode, notes: string[]): DaySchedule {
  const byDay = child(t, 'ScheduleByDay');
  if (byDay) {
    if ((childText(byDay, 'DaysInterval') ?? '1') !== '1') notes.push('DaysInterval');
    return { by: 'day' };
  }
  const byWeek = child(t, 'ScheduleByWeek');
  if (byWeek) {
    if ((childText(byWeek, 'WeeksInterval') ?? '1') !== '1') notes.push('WeeksInterval');
    return { by: 'week', daysOfWeek: names(child(byWeek, 'DaysOfWeek'), DAY_NAMES) };
  }
  const byMonth = child(t, 'ScheduleByMonth');
  const allMonths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  if (byMonth) {
    const dom = child(byMonth, 'DaysOfMonth');
    const days = dom ? elements(dom).map((e) => (e.textContent ?? '').trim()) : [];
    if (days.some((d) => !/^\d+$/.test(d))) notes.push('day of month Last');
    const monthsEl = child(byMonth, 'Months');
    return { by: 'month', daysOfMonth: days.filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => a - b), months: monthsEl ? names(monthsEl, MONTH_NAMES) : allMonths };
  }
  const byMdw = child(t, 'ScheduleByMonthDayOfWeek');
  if (byMdw) {
    const weeksEl = child(byMdw, 'Weeks');
    const weeks = (weeksEl ? elements(weeksEl).map((e) => (e.textContent ?? '').trim()) : []).map((w) => (w === 'Last' ? 'Last' : Number(w))) as (1 | 2 | 3 | 4 | 'Last')[];
    const monthsEl = child(byMdw, 'Months');
    return { by: 'monthDayOfWeek', weeks, daysOfWeek: names(child(byMdw, 'DaysOfWeek'), DAY_NAMES), months: monthsEl ? names(monthsEl, MONTH_NAMES) : allMonths };
  }
  notes.push('calendar trigger without a schedule');
  return { by: 'day' };
}

const KNOWN = new Set(['Repetition', 'StartBoundary', 'Enabled', 'ScheduleByDay', 'ScheduleByWeek', 'ScheduleByMonth', 'ScheduleByMonthDayOfWeek']);

function trigger(t: DomNode, notes: string[]): TriggerSpec | null {
  for (const e of elements(t)) if (!KNOWN.has(e.localName ?? '')) notes.push(`${t.localName ?? ''} ${e.localName ?? ''}`);
  if (!bool(childText(t, 'Enabled'), true)) notes.push('trigger disabled');
  const rep = repetition(child(t, 'Repetition'), notes);
  const start = childText(t, 'StartBoundary') ?? '';
  if (t.localName === 'CalendarTrigger') {
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d):(\d\d):(\d\d)$/.exec(start);
    if (!m || m[1] !== CALENDAR_ANCHOR_DATE || m[4] !== '00') notes.push(`calendar StartBoundary ${start}`);
    const minuteOfDay = m ? Number(m[2]) * 60 + Number(m[3]) : 0;
    return { type: 'calendar', minuteOfDay, days: daySchedule(t, notes), ...(rep ? { repetition: rep } : {}) };
  }
  if (t.localName === 'TimeTrigger') {
    const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/.test(start) ? Date.parse(start) : NaN;
    if (Number.isNaN(at)) notes.push(`time StartBoundary ${start}`);
    return { type: 'dated', at: Number.isNaN(at) ? 0 : at, ...(rep ? { repetition: rep } : {}) };
  }
  notes.push(`trigger ${t.localName ?? ''}`);
  return null;
}

function principal(task: DomNode, notes: string[]): TaskPrincipal {
  const ps = child(task, 'Principals');
  const p = ps ? child(ps, 'Principal') : undefined;
  if (!p) {
    notes.push('no principal');
    return { userId: '', logonType: null, runLevel: 'LeastPrivilege' };
  }
  const logon = childText(p, 'LogonType');
  if (child(p, 'GroupId')) notes.push('principal group');
  if (logon !== undefined && logon !== 'S4U' && logon !== 'ServiceAccount') notes.push(`logon type ${logon}`);
  const userId = childText(p, 'UserId') ?? '';
  return {
    userId,
    // Windows may export SYSTEM with LogonType ServiceAccount: the same principal.
    logonType: logon === 'S4U' && userId !== SYSTEM_SID ? 'S4U' : null,
    runLevel: childText(p, 'RunLevel') === 'HighestAvailable' ? 'HighestAvailable' : 'LeastPrivilege',
  };
}

/** Settings children cronsync writes: read into TaskSettings, so any change fails the marker's hash. */
const WRITTEN_SETTINGS = new Set(['MultipleInstancesPolicy', 'DisallowStartIfOnBatteries', 'StopIfGoingOnBatteries', 'StartWhenAvailable', 'Enabled', 'ExecutionTimeLimit']);

type ValueCheck = (el: DomNode) => boolean;
const textOf = (el: DomNode): string => (el.textContent ?? '').trim();
/** xs:boolean: `true`/`1` or `false`/`0`. */
const isBool = (want: boolean): ValueCheck => (el) => textOf(el) === String(want) || textOf(el) === (want ? '1' : '0');
const isDuration = (seconds: number): ValueCheck => (el) => parseDuration(textOf(el)) === seconds;

/** Each child at most once, each known and at its allowed value. */
function onlyDefaults(el: DomNode, allowed: ReadonlyMap<string, ValueCheck>): boolean {
  const kids = elements(el);
  return new Set(kids.map((k) => k.localName)).size === kids.length && kids.every((k) => allowed.get(k.localName ?? '')?.(k) === true);
}

const IDLE_DEFAULTS = new Map<string, ValueCheck>([
  ['Duration', isDuration(600)],
  ['WaitTimeout', isDuration(3600)],
  ['StopOnIdleEnd', isBool(true)],
  ['RestartOnIdle', isBool(false)],
]);

/**
 * Settings children cronsync does not write that Windows adds when it exports a registered task
 * (`schtasks /Query /XML`), each tolerated only at its XSD default, the value Windows assumes
 * when the element is absent: AllowStartOnDemand true, AllowHardTerminate true,
 * RunOnlyIfNetworkAvailable false, IdleSettings with only its defaults (Duration PT10M,
 * WaitTimeout PT1H, StopOnIdleEnd true, RestartOnIdle false; idle settings act only with
 * RunOnlyIfIdle), Hidden false, RunOnlyIfIdle false, WakeToRun false, Priority 7, and the
 * schema 1.3/1.4 flags DisallowStartOnRemoteAppSession, UseUnifiedSchedulingEngine and
 * Volatile false. Not tolerated at any value: RestartOnFailure, NetworkProfileName,
 * NetworkSettings, MaintenanceSettings, and DeleteExpiredTaskAfter (present even as PT0S it
 * deletes a task whose dated triggers have all passed).
 */
const EXPORT_DEFAULTS = new Map<string, ValueCheck>([
  ['AllowStartOnDemand', isBool(true)],
  ['AllowHardTerminate', isBool(true)],
  ['RunOnlyIfNetworkAvailable', isBool(false)],
  ['IdleSettings', (el) => onlyDefaults(el, IDLE_DEFAULTS)],
  ['Hidden', isBool(false)],
  ['RunOnlyIfIdle', isBool(false)],
  ['WakeToRun', isBool(false)],
  ['Priority', (el) => /^\+?0*7$/.test(textOf(el))],
  ['DisallowStartOnRemoteAppSession', isBool(false)],
  ['UseUnifiedSchedulingEngine', isBool(false)],
  ['Volatile', isBool(false)],
]);

function settings(task: DomNode, notes: string[]): TaskSettings {
  const s = child(task, 'Settings');
  const text = (name: string): string | undefined => (s ? childText(s, name) : undefined);
  const seen = new Set<string>();
  for (const e of s ? elements(s) : []) {
    const name = e.localName ?? '';
    // The XSD allows each child once, and only the first copy is read here: a repeat is never ours.
    if (seen.has(name)) notes.push(`Settings ${name} repeated`);
    seen.add(name);
    if (!WRITTEN_SETTINGS.has(name) && EXPORT_DEFAULTS.get(name)?.(e) !== true) notes.push(`Settings ${name}`);
  }
  const limit = parseDuration(text('ExecutionTimeLimit') ?? 'PT72H');
  if (limit === null) notes.push('ExecutionTimeLimit');
  return {
    multipleInstancesPolicy: text('MultipleInstancesPolicy') ?? 'IgnoreNew',
    disallowStartIfOnBatteries: bool(text('DisallowStartIfOnBatteries'), true),
    stopIfGoingOnBatteries: bool(text('StopIfGoingOnBatteries'), true),
    startWhenAvailable: bool(text('StartWhenAvailable'), false),
    enabled: bool(text('Enabled'), true),
    executionTimeLimitSeconds: limit ?? 0,
  };
}

/** The children of `<Task>` that Windows exports; Data (or anything else) is not ours. */
const TASK_CHILDREN = new Set(['RegistrationInfo', 'Triggers', 'Principals', 'Settings', 'Actions']);

/** The model of a `<Task>` element (XSD defaults for absent settings). Never throws. */
export function parseTaskElement(task: DomNode): ParsedTask {
  const notes: string[] = [];
  if (task.localName !== 'Task' || task.namespaceURI !== TASK_NS) notes.push('not a task');
  for (const e of elements(task)) if (!TASK_CHILDREN.has(e.localName ?? '')) notes.push(`task ${e.localName ?? ''}`);
  const info = child(task, 'RegistrationInfo');
  const triggersEl = child(task, 'Triggers');
  const triggers = (triggersEl ? elements(triggersEl) : []).map((t) => trigger(t, notes)).filter((t): t is TriggerSpec => t !== null);
  const actions = child(task, 'Actions');
  const execs = actions ? elements(actions) : [];
  if (execs.length !== 1 || execs[0]!.localName !== 'Exec') notes.push('actions');
  const exec = execs[0];
  if (exec && child(exec, 'WorkingDirectory')) notes.push('working directory');
  const model: TaskModel = {
    uri: (info && childText(info, 'URI')) ?? '',
    source: (info && childText(info, 'Source')) ?? '',
    description: (info && childText(info, 'Description')) ?? '',
    triggers,
    principal: principal(task, notes),
    settings: settings(task, notes),
    action: { command: (exec && childText(exec, 'Command')) ?? '', arguments: (exec && childText(exec, 'Arguments')) ?? '' },
  };
  return { model, anomalies: notes };
}

/**
 * Parses one task's XML text.
 * @throws {Error} when the text is not well-formed XML.
 */
export function parseTaskXml(text: string): ParsedTask {
  return parseTaskElement(parseXml(text));
}

/**
 * The tasks of a `schtasks /Query /XML ONE` document: a `<Tasks>` root holding each `<Task>`
 * after a comment naming its path. A single `<Task>` document gives one task without a path.
 * @throws {Error} when the text is not well-formed XML.
 */
export function parseQueryXml(text: string): { path: string | null; task: DomNode }[] {
  // The parser accepts unclosed elements; a cut-off output must not read as fewer tasks.
  if (!/<\/Tasks>\s*$|<\/Task>\s*$/.test(text)) throw new Error('task XML ends before its closing tag');
  const root = parseXml(text);
  if (root.localName === 'Task') return [{ path: null, task: root }];
  const out: { path: string | null; task: DomNode }[] = [];
  let path: string | null = null;
  for (const n of Array.from(root.childNodes)) {
    if (n.nodeType === COMMENT_NODE) path = (n.data ?? '').trim();
    else if (n.localName === 'Task') {
      out.push({ path, task: n });
      path = null;
    }
  }
  return out;
}

/**
 * The inventory entry of a task at `path`: marker from RegistrationInfo/Source; `raw` the
 * task rendered from what was read, with the non-ASCII text the marker lists restored where
 * a console code page mangled it (codepage.ts), so equal to renderEntry() of the job when
 * nothing changed; drift (for `sourceId`'s tasks) when the marker's hash no longer matches or
 * the task holds something cronsync does not write.
 */
export function taskEntry(path: string, parsed: ParsedTask, sourceId: string): InstalledEntry {
  const line = decodeMarker(parsed.model.source);
  const marker = line?.marker ?? null;
  // The hash of the code-page form, or, for a task registered before that form was hashed,
  // of the plain body (equal whenever the task's text is ASCII or read back unmangled).
  const hashes = [entryHash(comparableBody(parsed.model)), entryHash(taskBody(parsed.model))];
  const drifted = line !== null && line.marker.sourceId === sourceId
    && (parsed.anomalies.length > 0 || line.entryHash === null || !hashes.includes(line.entryHash));
  const model = marker === null ? parsed.model : restoreModel(parsed.model, runsOf(parsed.model.source));
  return { key: `windows:${path}`, marker, paused: !parsed.model.settings.enabled, drifted, raw: renderTaskXml(model) };
}

/**
 * Renders one job as one Task Scheduler task (schema 1.2) with xmlbuilder2: elements in the
 * order the XSD (and Windows' own export) uses, every value escaped by the builder, CRLF line
 * ends, declared UTF-16 and written as UTF-16LE with a BOM (SPEC §8).
 */
import { create } from './xml.js';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import { durationMs } from '../../manifest/duration.js';
import { encodeMarker, markerOf } from '../marker.js';
import type { ExecCommand, RenderedFile } from '../types.js';
import { comparableBody, nonAsciiRuns, withRuns } from './codepage.js';
import { formatDuration } from './duration.js';
import { DAY_NAMES, DAY_ORDER, MONTH_NAMES, SYSTEM_SID, TASK_NS, normalizeTrigger, taskPath } from './model.js';
import type { TaskModel } from './model.js';
import { joinArgs } from './quote.js';
import { CALENDAR_ANCHOR_DATE } from './types.js';
import type { DaySchedule, TaskRepetition, TriggerSet, TriggerSpec } from './types.js';
import { taskFolderProblem, taskTextProblem, xmlCharProblem } from './values.js';

/** What a job's task needs besides the job. */
export interface TaskContext {
  sourceId: string;
  /** Task folder (`\cronsync`). */
  taskFolder: string;
  execCommand: ExecCommand;
  /** State dir passed to `exec --state-dir`. */
  stateDir: string;
  /** Run-as user (S4U); absent: SYSTEM. */
  user?: string;
}

/** The triggers of a job (triggers.ts' jobTriggers, bound to the host zone and clock). */
export type TriggersOf = (d: DesiredJob) => TriggerSet;

/** Seconds added to the job's timeout: the shim enforces the timeout itself, Windows is the backstop. */
export const TIME_LIMIT_MARGIN_SECONDS = 300;

/** Task Scheduler's limit on an Exec Command (XSD pathType). */
export const MAX_COMMAND_PATH = 260;

/** A rendered task for `cronsync render`: the text for the terminal and the UTF-16 file. */
export interface TaskFile extends RenderedFile {
  /** `<tenant>/<name>.xml`, relative to `--out DIR`. */
  fileName: string;
  /** The XML as UTF-16LE with a BOM, as registered. */
  data: Buffer;
}

/**
 * The task model of a job.
 * @throws {SchedulerError} when the exec command, the state dir, the user or the task folder
 * cannot be written into a task.
 */
export function taskModel(d: DesiredJob, ctx: TaskContext, triggers: TriggerSet): TaskModel {
  const command = ctx.execCommand.file;
  const words = [...ctx.execCommand.args, 'exec', '--scheduled', '--state-dir', ctx.stateDir, d.id];
  refuseText(d, ctx);
  if ([command, ...words].some((w) => /[\0\r\n]/.test(w))) {
    throw new SchedulerError('exec command contains a line break or NUL', { jobId: d.id });
  }
  if (command === '' || command.length > MAX_COMMAND_PATH) {
    throw new SchedulerError(`the program of ${d.id}'s task must be 1..${MAX_COMMAND_PATH} characters (Task Scheduler's limit): install node under a shorter path`, { jobId: d.id, length: command.length });
  }
  const timeoutMs = d.job.spec.timeout === undefined ? undefined : durationMs(d.job.spec.timeout);
  const body: TaskModel = {
    uri: taskPath(ctx.taskFolder, d.id),
    source: '',
    description: '',
    triggers: triggers.triggers.map(normalizeTrigger),
    principal: ctx.user === undefined
      ? { userId: SYSTEM_SID, logonType: null, runLevel: 'HighestAvailable' }
      : { userId: ctx.user, logonType: 'S4U', runLevel: 'LeastPrivilege' },
    settings: {
      multipleInstancesPolicy: 'Parallel',
      disallowStartIfOnBatteries: false,
      stopIfGoingOnBatteries: false,
      startWhenAvailable: false,
      enabled: !d.job.spec.paused,
      executionTimeLimitSeconds: timeoutMs === undefined ? 0 : Math.ceil(timeoutMs / 1000) + TIME_LIMIT_MARGIN_SECONDS,
    },
    action: { command, arguments: joinArgs(words) },
  };
  const commit = d.provenance.commit ? ` at commit ${d.provenance.commit.slice(0, 12)}` : '';
  // ASCII only: schtasks prints /Query output through a console code page, which would mangle
  // other characters of a manifest path and make the task look changed at every sync. The
  // entry hash covers the code-page form of the body, and the marker keeps the non-ASCII runs
  // of Command, Arguments, UserId and URI so that parse.ts can restore them (codepage.ts).
  // Tasks written before hashed taskBody(body); parse.ts accepts that hash too.
  return {
    ...body,
    source: withRuns(encodeMarker(markerOf(d, ctx.sourceId), comparableBody(body)), nonAsciiRuns(body)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    description: `cronsync job ${d.id} from ${JSON.stringify(d.provenance.path).slice(1, -1).replace(/[^\x20-\x7e]/g, '?')}${commit}. Managed by cronsync: change the manifest in Git; edits made here are undone at the next sync.`,
  };
}

/**
 * Refuses text of the context that a task cannot hold or would read back otherwise (values.ts);
 * the config validation refuses the same for a windows (or auto) scheduler; this catches what
 * it does not see: the program path (process.execPath), and the config of another scheduler
 * kind rendered with `cronsync render --scheduler windows`.
 * @throws {SchedulerError} naming the setting.
 */
function refuseText(d: DesiredJob, ctx: TaskContext): void {
  const fields: [string, string | undefined, (t: string) => string | null][] = [
    ['scheduler.taskFolder', ctx.taskFolder, taskFolderProblem],
    ['scheduler.user', ctx.user, taskTextProblem],
    ['stateDir', ctx.stateDir, taskTextProblem],
    ['the program path', ctx.execCommand.file, taskTextProblem],
    ...ctx.execCommand.args.map((a, i): [string, string, (t: string) => string | null] => [`program argument ${i + 1}`, a, xmlCharProblem]),
  ];
  for (const [field, value, check] of fields) {
    const problem = value === undefined ? null : check(value);
    if (problem !== null) throw new SchedulerError(`the task of ${d.id} cannot be written: ${field} ${problem}`, { jobId: d.id, field });
  }
}

function repetition(t: XMLBuilder, r: TaskRepetition | undefined): void {
  if (!r) return;
  const rep = t.ele('Repetition');
  rep.ele('Interval').txt(formatDuration(r.intervalMinutes * 60));
  rep.ele('Duration').txt(formatDuration(Math.max(r.durationSeconds, r.intervalMinutes * 60)));
}

function days(parent: XMLBuilder, list: readonly number[]): void {
  const el = parent.ele('DaysOfWeek');
  for (const d of DAY_ORDER) if (list.includes(d)) el.ele(DAY_NAMES[d]);
}

function months(parent: XMLBuilder, list: readonly number[]): void {
  const el = parent.ele('Months');
  for (let m = 1; m <= 12; m++) if (list.includes(m)) el.ele(MONTH_NAMES[m]!);
}

function schedule(t: XMLBuilder, s: DaySchedule): void {
  if (s.by === 'day') {
    t.ele('ScheduleByDay').ele('DaysInterval').txt('1');
  } else if (s.by === 'week') {
    const w = t.ele('ScheduleByWeek');
    w.ele('WeeksInterval').txt('1');
    days(w, s.daysOfWeek);
  } else if (s.by === 'month') {
    const m = t.ele('ScheduleByMonth');
    const dom = m.ele('DaysOfMonth');
    for (const d of [...s.daysOfMonth].sort((a, b) => a - b)) dom.ele('Day').txt(String(d));
    months(m, s.months);
  } else {
    const m = t.ele('ScheduleByMonthDayOfWeek');
    const weeks = m.ele('Weeks');
    for (const w of [1, 2, 3, 4, 'Last'] as const) if (s.weeks.includes(w)) weeks.ele('Week').txt(String(w));
    days(m, s.daysOfWeek);
    months(m, s.months);
  }
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** StartBoundary of a dated trigger: the UTC instant, `YYYY-MM-DDTHH:MM:00Z`. */
export function utcBoundary(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16)}:00Z`;
}

function trigger(parent: XMLBuilder, spec: TriggerSpec): void {
  if (spec.type === 'calendar') {
    const t = parent.ele('CalendarTrigger');
    repetition(t, spec.repetition);
    // Host-local wall time without an offset: Task Scheduler then follows the host's DST rules.
    t.ele('StartBoundary').txt(`${CALENDAR_ANCHOR_DATE}T${pad(Math.floor(spec.minuteOfDay / 60))}:${pad(spec.minuteOfDay % 60)}:00`);
    t.ele('Enabled').txt('true');
    schedule(t, spec.days);
  } else {
    const t = parent.ele('TimeTrigger');
    repetition(t, spec.repetition);
    t.ele('StartBoundary').txt(utcBoundary(spec.at));
    t.ele('Enabled').txt('true');
  }
}

/**
 * `&` as the character reference `&#38;` in text taken from outside (paths, ids, the marker):
 * xmlbuilder2 escapes `<` and `>`, but leaves an `&` that starts something entity-like (`&amp;`,
 * `&#0;`, `&D;`) as markup, which would change the text read back or make the document
 * ill-formed. `&#38;` rather than `&amp;`, because xmlbuilder2's reader decodes `&amp;#0;` twice
 * (to NUL); dom.ts reads `&amp;` the same way for XML that Windows writes.
 */
export function escapeAmpersands(text: string): string {
  return text.replace(/&/g, '&#38;');
}

/** The task XML of a model: declared UTF-16, two-space indent, CRLF line ends, final CRLF. */
export function renderTaskXml(m: TaskModel): string {
  const task = create({ version: '1.0', encoding: 'UTF-16' }).ele(TASK_NS, 'Task', { version: '1.2' });
  const info = task.ele('RegistrationInfo');
  info.ele('URI').txt(escapeAmpersands(m.uri));
  info.ele('Source').txt(escapeAmpersands(m.source));
  info.ele('Author').txt('cronsync');
  info.ele('Description').txt(escapeAmpersands(m.description));
  const triggers = task.ele('Triggers');
  for (const t of m.triggers) trigger(triggers, t);
  const p = task.ele('Principals').ele('Principal', { id: 'Author' });
  p.ele('UserId').txt(escapeAmpersands(m.principal.userId));
  if (m.principal.logonType) p.ele('LogonType').txt(m.principal.logonType);
  p.ele('RunLevel').txt(m.principal.runLevel);
  const s = task.ele('Settings');
  s.ele('MultipleInstancesPolicy').txt(m.settings.multipleInstancesPolicy);
  s.ele('DisallowStartIfOnBatteries').txt(String(m.settings.disallowStartIfOnBatteries));
  s.ele('StopIfGoingOnBatteries').txt(String(m.settings.stopIfGoingOnBatteries));
  s.ele('StartWhenAvailable').txt(String(m.settings.startWhenAvailable));
  s.ele('Enabled').txt(String(m.settings.enabled));
  s.ele('ExecutionTimeLimit').txt(formatDuration(m.settings.executionTimeLimitSeconds));
  const exec = task.ele('Actions', { Context: 'Author' }).ele('Exec');
  exec.ele('Command').txt(escapeAmpersands(m.action.command));
  if (m.action.arguments !== '') exec.ele('Arguments').txt(escapeAmpersands(m.action.arguments));
  return `${task.end({ prettyPrint: true, indent: '  ', newline: '\r\n' })}\r\n`;
}

/** The task XML of a job. */
export function renderTask(d: DesiredJob, ctx: TaskContext, triggers: TriggerSet): string {
  return renderTaskXml(taskModel(d, ctx, triggers));
}

/** Text as UTF-16LE with a byte-order mark: what `schtasks /Create /XML` reads. */
export function encodeUtf16(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

/** The files `cronsync render --scheduler windows` prints, or writes with `--out DIR`. */
export function renderTaskFiles(desired: readonly DesiredJob[], ctx: TaskContext, triggersOf: TriggersOf): TaskFile[] {
  return [...desired].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((d) => {
    const content = renderTask(d, ctx, triggersOf(d));
    return { name: taskPath(ctx.taskFolder, d.id), content, fileName: `${d.id}.xml`, data: encodeUtf16(content) };
  });
}

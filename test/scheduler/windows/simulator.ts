/**
 * A Task Scheduler simulator for the tests (issue 10 item 6): the instants at which Windows
 * starts a task, read from the task's XML (schema 1.2) alone, independent of the adapter's own
 * trigger model, under each interpretation of what Windows leaves undocumented; then the exec
 * guard (`cronsync exec --scheduled`), which runs the job once per §2a fire instant.
 *
 * Documented behaviour, modelled as fact:
 * - StartBoundary without an offset is host-local wall time; with `Z` or `±HH:MM` it is that
 *   instant "regardless of the time zone and daylight saving settings on the local computer"
 *   (ITrigger::put_StartBoundary, https://learn.microsoft.com/en-us/windows/win32/api/taskschd/nf-taskschd-itrigger-put_startboundary).
 *   A CalendarTrigger with an offset therefore recurs on a fixed-offset clock.
 * - A start time inside a spring-forward gap runs at the first minute that exists, the end of
 *   the gap (03:00 for 02:30 in New York), not §2a's 03:30. Issue 10 item 5 takes this as
 *   documented; Microsoft's KB 325413 "Task Scheduler Behavior at Daylight Saving Time
 *   Transitions and Other Events" (https://support.microsoft.com/help/325413) says the
 *   behaviour in the transition hours "is not specified" and describes what was observed.
 *   TODO(#10): quote the KB's gap paragraph here (not in the excerpts available when written).
 * - Repetition: a start every Interval for Duration after the trigger starts, Duration measured
 *   as elapsed time (IRepetitionPattern, https://learn.microsoft.com/en-us/windows/win32/api/taskschd/nn-taskschd-irepetitionpattern;
 *   repetitionType, https://learn.microsoft.com/en-us/windows/win32/taskschd/taskschedulerschema-repetitiontype-complextype).
 *   No Duration repeats indefinitely (RepetitionPattern.Duration,
 *   https://learn.microsoft.com/en-us/windows/win32/taskschd/repetitionpattern-duration).
 * - ScheduleByMonth: `Day` 1..31 or `Last`, "always the last day of the month" (dayOfMonthType,
 *   https://learn.microsoft.com/en-us/windows/win32/taskschd/taskschedulerschema-dayofmonthtype-simpletype);
 *   a day a month lacks (31 in April) never runs in that month (issue 10 item 4).
 * - ScheduleByMonthDayOfWeek: `Week` 1-4 are the first four weeks, `Last` the last week of the
 *   month "regardless of which week it is" (Weeks element,
 *   https://learn.microsoft.com/en-us/windows/win32/taskschd/taskschedulerschema-weeks-monthlydayofweekscheduletype-element;
 *   weekType, https://learn.microsoft.com/en-us/windows/win32/taskschd/taskschedulerschema-weektype-simpletype):
 *   week N is days 7N-6..7N, Last the month's final seven days.
 * - Days are `<Sunday/>`..`<Saturday/>`, months `<January/>`..`<December/>` (daysOfWeekType,
 *   monthsType of the schema, ../shared/windows/TaskSchedulerV2Schema.xsd).
 * - A trigger (or a task) with Enabled false starts nothing; EndBoundary: "The trigger cannot
 *   start the task after it is deactivated" (https://learn.microsoft.com/en-us/windows/win32/taskschd/weeklytrigger).
 *
 * Undocumented, as parameters ({@link Interpretation}):
 * - a start wall time that a fall-back shows twice starts the task in the first pass, the
 *   second, or both (KB 325413 calls the transition hours' behaviour "not specified");
 * - repetition steps by elapsed time, or by host wall-clock time across a change (wall steps
 *   are StartBoundary's wall time + k·Interval, even when the first start moved to a gap's end;
 *   a wall step in a gap runs at the gap's end, a wall step in the repeated hour follows the
 *   fall-back parameter; the Duration stays elapsed time from the first start either way);
 * - the Duration's end is inclusive (Vista and later: PT1M for PT4M "launched five times",
 *   IRepetitionPattern remarks) or exclusive (Windows XP/2003: four times).
 *
 * With fall-back `both`, each pass is a start of the trigger and begins its own repetition.
 * Two triggers may start the task at the same instant: starts are a multiset across triggers.
 * One trigger starts the task at most once per instant (it cannot be "started twice" by
 * itself; a gap can fold several wall steps onto its end).
 */
import { create } from 'xmlbuilder2';

import { parseCron } from '../../../src/schedule/cron.js';
import type { CronSpec } from '../../../src/schedule/cron.js';
import { isFireTime } from '../../../src/schedule/fires.js';
import { offsetAt, transitionsBetween } from '../../../src/schedule/zone.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Beyond any UTC offset plus any DST change: bounds wall-time/instant arithmetic. */
const SLACK = 16 * HOUR;

// ---------------------------------------------------------------------------------------------
// Interpretations

/** Which pass of a fall-back's repeated wall time starts the task. */
export type FallBackPass = 'first' | 'second' | 'both';
/** Whether repetition steps are elapsed time, or host wall-clock time across a change. */
export type RepetitionClock = 'elapsed' | 'wall';
/** Whether a repetition step exactly at the Duration's end still starts the task. */
export type DurationEnd = 'inclusive' | 'exclusive';

/** One reading of what Windows leaves undocumented. */
export interface Interpretation {
  readonly fallBack: FallBackPass;
  readonly repetition: RepetitionClock;
  readonly durationEnd: DurationEnd;
}

/** Every combination of the undocumented parameters (3 × 2 × 2 = 12). */
export const INTERPRETATIONS: readonly Interpretation[] = (['first', 'second', 'both'] as const).flatMap((fallBack) =>
  (['elapsed', 'wall'] as const).flatMap((repetition) =>
    (['inclusive', 'exclusive'] as const).map((durationEnd) => ({ fallBack, repetition, durationEnd }))));

/** Short label of an interpretation, e.g. `first/elapsed/inclusive`. */
export function interpretationName(i: Interpretation): string {
  return `${i.fallBack}/${i.repetition}/${i.durationEnd}`;
}

// ---------------------------------------------------------------------------------------------
// XML reading

/** An element of a parsed XML document: local name (prefix dropped), attributes, children, text. */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Concatenated character data directly inside the element. */
  readonly text: string;
}

/**
 * The text of a task file: a string as is, bytes decoded as UTF-16LE when they start with its
 * BOM (as schtasks writes them), UTF-16BE likewise, UTF-8 otherwise. A leading BOM is dropped.
 */
export function decodeTaskXml(input: string | Uint8Array): string {
  if (typeof input === 'string') return input.replace(/^\ufeff/, '');
  const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b[0] === 0xfe && b[1] === 0xff) {
    const swapped = Buffer.from(b.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  return b.toString('utf8').replace(/^\ufeff/, '');
}

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw new Error(`xml: unknown entity ${m}`);
    return v;
  });
}

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

/** A start tag at `lastIndex`: name, attributes, `/` when self-closing. */
const TAG = /<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;

/**
 * A small strict XML reader, enough for task files (declaration, comments, CDATA, elements,
 * attributes, the five entities and character references; no DTD). Much faster than a full
 * DOM; the tests check it yields the same tree as xmlbuilder2's parser ({@link readXmlDom}).
 * @throws {Error} on malformed input (unclosed or mismatched tags, stray text outside the root).
 */
export function readXml(input: string): XmlElement {
  const s = input.replace(/^\ufeff/, '');
  interface Open { name: string; attrs: Record<string, string>; children: XmlElement[]; text: string }
  const stack: Open[] = [];
  let root: XmlElement | null = null;
  let i = 0;
  const close = (el: Open): void => {
    const done: XmlElement = { name: el.name, attrs: el.attrs, children: el.children, text: el.text };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(done);
    else if (root) throw new Error('xml: more than one root element');
    else root = done;
  };
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const text = s.slice(i, lt < 0 ? s.length : lt);
    if (text.length > 0) {
      const top = stack[stack.length - 1];
      // Whitespace-only text between elements is dropped, as xmlbuilder2 does.
      if (text.trim() !== '') {
        if (!top) throw new Error('xml: text outside the root element');
        top.text += unescapeXml(text);
      }
    }
    if (lt < 0) break;
    if (s.startsWith('<?', lt)) {
      const end = s.indexOf('?>', lt);
      if (end < 0) throw new Error('xml: unterminated processing instruction');
      i = end + 2;
    } else if (s.startsWith('<!--', lt)) {
      const end = s.indexOf('-->', lt + 4);
      if (end < 0) throw new Error('xml: unterminated comment');
      i = end + 3;
    } else if (s.startsWith('<![CDATA[', lt)) {
      const end = s.indexOf(']]>', lt);
      const top = stack[stack.length - 1];
      if (end < 0 || !top) throw new Error('xml: bad CDATA section');
      top.text += s.slice(lt + 9, end);
      i = end + 3;
    } else if (s.startsWith('<!', lt)) {
      throw new Error('xml: DTDs are not supported');
    } else if (s.startsWith('</', lt)) {
      const end = s.indexOf('>', lt);
      const name = s.slice(lt + 2, end).trim();
      const top = stack.pop();
      if (end < 0 || !top || localName(name) !== top.name) throw new Error(`xml: unexpected </${name}>`);
      close(top);
      i = end + 1;
    } else {
      TAG.lastIndex = lt;
      const tag = TAG.exec(s);
      if (!tag) throw new Error(`xml: bad tag at ${lt}`);
      const attrs: Record<string, string> = {};
      for (const a of tag[2]!.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        attrs[a[1]!] = unescapeXml(a[2] ?? a[3] ?? '');
      }
      const el: Open = { name: localName(tag[1]!), attrs, children: [], text: '' };
      if (tag[3] === '/') close(el);
      else stack.push(el);
      i = lt + tag[0].length;
    }
  }
  if (stack.length > 0 || !root) throw new Error('xml: unclosed element or no root');
  return root;
}

interface DomNode {
  nodeType: number;
  localName?: string | null;
  nodeName?: string;
  data?: string;
  childNodes: ArrayLike<DomNode>;
  attributes?: ArrayLike<{ name: string; value: string }>;
}

/** The same tree as {@link readXml}, built with xmlbuilder2's parser (reference for the tests). */
export function readXmlDom(input: string): XmlElement {
  const doc = create(input.replace(/^\ufeff/, ''));
  const convert = (n: DomNode): XmlElement => {
    const attrs: Record<string, string> = {};
    for (const a of Array.from(n.attributes ?? [])) attrs[a.name] = a.value;
    const children: XmlElement[] = [];
    let text = '';
    for (const c of Array.from(n.childNodes)) {
      if (c.nodeType === 1) children.push(convert(c));
      else if (c.nodeType === 3 || c.nodeType === 4) text += c.data ?? '';
    }
    return { name: n.localName ?? localName(n.nodeName ?? ''), attrs, children, text };
  };
  return convert(doc.root().node as unknown as DomNode);
}

// ---------------------------------------------------------------------------------------------
// Task model (as read from XML)

/** A StartBoundary/EndBoundary: host-local wall time, or an instant with its written offset. */
export type Boundary =
  | { readonly kind: 'local'; readonly wall: number }
  | { readonly kind: 'absolute'; readonly at: number; readonly offsetMs: number };

/** A Repetition element: Interval and Duration in milliseconds (null Duration: indefinitely). */
export interface SimRepetition {
  readonly intervalMs: number;
  readonly durationMs: number | null;
}

/** The schedule element of a CalendarTrigger. */
export type SimDays =
  | { readonly by: 'day'; readonly interval: number }
  | { readonly by: 'week'; readonly interval: number; readonly daysOfWeek: ReadonlySet<number> }
  | { readonly by: 'month'; readonly days: ReadonlySet<number | 'Last'>; readonly months: ReadonlySet<number> }
  | { readonly by: 'monthDayOfWeek'; readonly weeks: ReadonlySet<number | 'Last'>; readonly daysOfWeek: ReadonlySet<number>; readonly months: ReadonlySet<number> };

/** One trigger of a task: a CalendarTrigger (with `days`) or a TimeTrigger (without). */
export interface SimTrigger {
  readonly type: 'calendar' | 'time';
  readonly start: Boundary;
  readonly end: Boundary | null;
  readonly enabled: boolean;
  readonly repetition: SimRepetition | null;
  readonly days: SimDays | null;
}

/** What the simulator needs of a task: whether it is enabled, and its triggers. */
export interface SimTask {
  readonly enabled: boolean;
  readonly triggers: readonly SimTrigger[];
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * Parses an XML dateTime as Task Scheduler reads a boundary: `YYYY-MM-DDTHH:MM:SS[.fff]`
 * (host-local), or followed by `Z` or `±HH:MM` (absolute).
 * @throws {Error} on any other form.
 */
export function parseBoundary(text: string): Boundary {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(text.trim());
  if (!m) throw new Error(`bad boundary "${text}"`);
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? Math.round(parseFloat(m[7]) * 1000) : 0);
  const tz = m[8];
  if (!tz) return { kind: 'local', wall };
  const offsetMs = tz === 'Z' ? 0 : (tz[0] === '-' ? -1 : 1) * (+tz.slice(1, 3) * HOUR + +tz.slice(4, 6) * MIN);
  return { kind: 'absolute', at: wall - offsetMs, offsetMs };
}

/**
 * Parses an XML duration as Task Scheduler's Interval/Duration (`PnDTnHnMnS`, weeks allowed).
 * @throws {Error} on years or months (no fixed length) or a malformed value.
 */
export function parseDuration(text: string): number {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) throw new Error(`unsupported duration "${text}"`);
  return (+(m[1] ?? 0) * 7 + +(m[2] ?? 0)) * DAY + +(m[3] ?? 0) * HOUR + +(m[4] ?? 0) * MIN + Math.round(+(m[5] ?? 0) * 1000);
}

const child = (el: XmlElement, name: string): XmlElement | undefined => el.children.find((c) => c.name === name);
const bool = (el: XmlElement | undefined, dflt: boolean): boolean => (el ? el.text.trim() === 'true' : dflt);

function nameSet(el: XmlElement | undefined, names: readonly string[], base: number, dflt: number[]): Set<number> {
  if (!el) return new Set(dflt);
  const out = new Set<number>();
  for (const c of el.children) {
    const i = names.indexOf(c.name);
    if (i < 0) throw new Error(`unknown element <${c.name}> in <${el.name}>`);
    out.add(i + base);
  }
  return out;
}

const ALL_MONTHS = Array.from({ length: 12 }, (_, i) => i + 1);

function parseDays(trigger: XmlElement): SimDays {
  const byDay = child(trigger, 'ScheduleByDay');
  if (byDay) return { by: 'day', interval: +(child(byDay, 'DaysInterval')?.text ?? 1) };
  const byWeek = child(trigger, 'ScheduleByWeek');
  if (byWeek) {
    return { by: 'week', interval: +(child(byWeek, 'WeeksInterval')?.text ?? 1), daysOfWeek: nameSet(child(byWeek, 'DaysOfWeek'), WEEKDAYS, 0, []) };
  }
  const byMonth = child(trigger, 'ScheduleByMonth');
  if (byMonth) {
    const days = new Set<number | 'Last'>();
    for (const d of child(byMonth, 'DaysOfMonth')?.children ?? []) {
      const t = d.text.trim();
      if (d.name !== 'Day' || !/^([1-9]|[12]\d|3[01]|Last)$/.test(t)) throw new Error(`bad day <${d.name}>${t}`);
      days.add(t === 'Last' ? 'Last' : +t);
    }
    return { by: 'month', days, months: nameSet(child(byMonth, 'Months'), MONTHS, 1, ALL_MONTHS) };
  }
  const byMdw = child(trigger, 'ScheduleByMonthDayOfWeek');
  if (byMdw) {
    const weeks = new Set<number | 'Last'>();
    for (const w of child(byMdw, 'Weeks')?.children ?? []) {
      const t = w.text.trim();
      if (w.name !== 'Week' || !/^([1-4]|Last)$/.test(t)) throw new Error(`bad week <${w.name}>${t}`);
      weeks.add(t === 'Last' ? 'Last' : +t);
    }
    return { by: 'monthDayOfWeek', weeks, daysOfWeek: nameSet(child(byMdw, 'DaysOfWeek'), WEEKDAYS, 0, []), months: nameSet(child(byMdw, 'Months'), MONTHS, 1, ALL_MONTHS) };
  }
  throw new Error('CalendarTrigger without a schedule element (or ScheduleByYear, not modelled)');
}

/**
 * Reads a task file (string or UTF-16LE bytes with a BOM) into the simulator's model.
 * `reader` picks the XML reader: the fast one (default) or xmlbuilder2's.
 * @throws {Error} on XML the simulator does not model (RandomDelay, Delay, other trigger types,
 * years or months in a duration, an indefinite repetition on a CalendarTrigger).
 */
export function parseTask(input: string | Uint8Array, reader: 'fast' | 'xmlbuilder2' = 'fast'): SimTask {
  const text = decodeTaskXml(input);
  const root = reader === 'fast' ? readXml(text) : readXmlDom(text);
  if (root.name !== 'Task') throw new Error(`root is <${root.name}>, not <Task>`);
  const settings = child(root, 'Settings');
  const triggers: SimTrigger[] = [];
  for (const t of child(root, 'Triggers')?.children ?? []) {
    if (t.name !== 'CalendarTrigger' && t.name !== 'TimeTrigger') throw new Error(`trigger <${t.name}> not modelled`);
    for (const unsupported of ['RandomDelay', 'Delay']) {
      if (child(t, unsupported)) throw new Error(`<${unsupported}> not modelled`);
    }
    const sb = child(t, 'StartBoundary');
    if (!sb) throw new Error(`<${t.name}> without StartBoundary`);
    const eb = child(t, 'EndBoundary');
    const rep = child(t, 'Repetition');
    let repetition: SimRepetition | null = null;
    if (rep) {
      const iv = child(rep, 'Interval');
      if (!iv) throw new Error('Repetition without Interval');
      const du = child(rep, 'Duration');
      repetition = { intervalMs: parseDuration(iv.text), durationMs: du ? parseDuration(du.text) : null };
      if (repetition.intervalMs < MIN || repetition.intervalMs > 31 * DAY) throw new Error(`Interval ${iv.text} out of PT1M..P31D`);
    }
    const type = t.name === 'CalendarTrigger' ? 'calendar' : 'time';
    if (type === 'calendar' && repetition && repetition.durationMs === null) {
      throw new Error('indefinite repetition on a CalendarTrigger not modelled');
    }
    triggers.push({
      type,
      start: parseBoundary(sb.text),
      end: eb ? parseBoundary(eb.text) : null,
      enabled: bool(child(t, 'Enabled'), true),
      repetition,
      days: type === 'calendar' ? parseDays(t) : null,
    });
  }
  return { enabled: bool(settings && child(settings, 'Enabled'), true), triggers };
}

// ---------------------------------------------------------------------------------------------
// Clocks: host-local wall time, or a fixed offset

/** A clock over an instant range: its offsets as segments [a, b) (the outer ones unbounded). */
export interface Clock {
  readonly segments: ReadonlyArray<{ a: number; b: number; off: number }>;
  /** Spring-forward gaps: wall times [wallFrom, wallTo) that do not exist; `at` the instant it ends. */
  readonly gaps: ReadonlyArray<{ wallFrom: number; wallTo: number; at: number }>;
}

function fixedClock(off: number): Clock {
  return { segments: [{ a: -Infinity, b: Infinity, off }], gaps: [] };
}

function zoneClock(zone: string, lo: number, hi: number): Clock {
  const segments: Array<{ a: number; b: number; off: number }> = [];
  const gaps: Array<{ wallFrom: number; wallTo: number; at: number }> = [];
  let a = -Infinity;
  let off = offsetAt(zone, lo);
  for (const tr of transitionsBetween(zone, lo, hi)) {
    segments.push({ a, b: tr.at, off });
    if (tr.after > tr.before) gaps.push({ wallFrom: tr.at + tr.before, wallTo: tr.at + tr.after, at: tr.at });
    a = tr.at;
    off = tr.after;
  }
  segments.push({ a, b: Infinity, off });
  return { segments, gaps };
}

/**
 * The instants at which a start at wall time `wall` happens on `clock`: the instant(s) showing
 * it (the pass(es) chosen by `fallBack` when shown twice), or the gap's end when it is skipped.
 */
function resolveWall(clock: Clock, wall: number, fallBack: FallBackPass, out: number[]): void {
  const segs = clock.segments;
  if (segs.length === 1) {
    out.push(wall - segs[0]!.off);
    return;
  }
  let first = NaN;
  let last = NaN;
  for (const s of segs) {
    const t = wall - s.off;
    if (t >= s.a && t < s.b) {
      if (Number.isNaN(first)) first = t;
      last = t;
    }
  }
  if (!Number.isNaN(first)) {
    if (fallBack === 'first' || first === last) out.push(first);
    else if (fallBack === 'second') out.push(last);
    else out.push(first, last);
    return;
  }
  for (const g of clock.gaps) {
    if (wall >= g.wallFrom && wall < g.wallTo) {
      out.push(g.at);
      return;
    }
  }
  throw new Error(`wall time ${new Date(wall).toISOString()} resolves to no instant`);
}

// ---------------------------------------------------------------------------------------------
// Starts

const daysInMonth = (y: number, m0: number): number => new Date(Date.UTC(y, m0 + 1, 0)).getUTCDate();

function dayRuns(days: SimDays, dayNumber: number, startDay: number): boolean {
  const d = new Date(dayNumber * DAY);
  const dow = d.getUTCDay();
  switch (days.by) {
    case 'day':
      return (dayNumber - startDay) % days.interval === 0;
    case 'week': {
      if (!days.daysOfWeek.has(dow)) return false;
      // Weeks counted from the Sunday of the start's week (only WeeksInterval 1 is rendered).
      const week = Math.floor((dayNumber - (startDay - new Date(startDay * DAY).getUTCDay())) / 7);
      return week % days.interval === 0;
    }
    case 'month': {
      const dom = d.getUTCDate();
      if (!days.months.has(d.getUTCMonth() + 1)) return false;
      return days.days.has(dom) || (days.days.has('Last') && dom === daysInMonth(d.getUTCFullYear(), d.getUTCMonth()));
    }
    case 'monthDayOfWeek': {
      const dom = d.getUTCDate();
      if (!days.months.has(d.getUTCMonth() + 1) || !days.daysOfWeek.has(dow)) return false;
      return days.weeks.has(Math.ceil(dom / 7)) || (days.weeks.has('Last') && dom > daysInMonth(d.getUTCFullYear(), d.getUTCMonth()) - 7);
    }
  }
}

/**
 * Adds to `out` the starts in [from, to) of one run of a trigger: its first start at wall time
 * `w0` on `clock` (`s0` the instant, already resolved), then its repetition.
 */
function chain(
  clock: Clock,
  w0: number,
  s0: number,
  rep: SimRepetition | null,
  endAt: number,
  from: number,
  to: number,
  interp: Interpretation,
  out: number[],
): void {
  const hi = Math.min(to, endAt);
  if (s0 >= from && s0 < hi) out.push(s0);
  if (!rep) return;
  const iv = rep.intervalMs;
  // Elapsed time since s0 up to which steps run (Infinity: indefinitely).
  const dur = rep.durationMs ?? Infinity;
  const inside = (elapsed: number): boolean => (interp.durationEnd === 'inclusive' ? elapsed <= dur : elapsed < dur);
  if (interp.repetition === 'elapsed' || clock.segments.length === 1) {
    for (let k = Math.max(1, Math.ceil((from - s0) / iv)); ; k++) {
      const t = s0 + k * iv;
      if (t >= hi || !inside(k * iv)) break;
      if (t >= from) out.push(t);
    }
    return;
  }
  // Wall steps: wall time w0 + k·iv, resolved on the clock; a change moves a wall step by less than SLACK.
  const kFrom = Math.max(1, Math.floor((from - s0 - SLACK) / iv));
  const kTo = Math.ceil((Math.min(hi, s0 + (Number.isFinite(dur) ? dur : Infinity)) - s0 + SLACK) / iv);
  const buf: number[] = [];
  for (let k = kFrom; k <= kTo; k++) {
    buf.length = 0;
    resolveWall(clock, w0 + k * iv, interp.fallBack, buf);
    for (const t of buf) if (t > s0 && t >= from && t < hi && inside(t - s0)) out.push(t);
  }
}

function boundaryInstant(clock: Clock, b: Boundary): number {
  if (b.kind === 'absolute') return b.at;
  const r: number[] = [];
  resolveWall(clock, b.wall, 'first', r);
  return r[0]!;
}

/**
 * The start instants (epoch ms, ascending, with multiplicity across triggers) in [from, to) of
 * `task` on a host whose zone is `hostZone`, under `interp`.
 */
export function taskStarts(task: SimTask, hostZone: string, from: number, to: number, interp: Interpretation): number[] {
  if (!task.enabled) return [];
  const lists: number[][] = [];
  const clocks = new Map<number, Clock>();
  for (const tr of task.triggers) if (tr.enabled) lists.push(triggerStarts(tr, hostZone, from, to, interp, clocks));
  // Pairwise merges of sorted lists.
  while (lists.length > 1) {
    const merged: number[][] = [];
    for (let i = 0; i < lists.length; i += 2) merged.push(i + 1 < lists.length ? mergeSorted(lists[i]!, lists[i + 1]!) : lists[i]!);
    lists.splice(0, lists.length, ...merged);
  }
  return lists[0] ?? [];
}

function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** Sorts and removes repeats, fast (typed-array sort; nothing to do when already strictly increasing). */
function sortedUnique(list: number[]): number[] {
  let ordered = true;
  for (let i = 1; i < list.length && ordered; i++) ordered = list[i]! > list[i - 1]!;
  if (ordered) return list;
  const sorted = Float64Array.from(list).sort();
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i]!);
  return out;
}

/**
 * The start instants in [from, to) of one trigger, ascending, each instant once. `clocks`
 * caches host clocks by reach across the triggers of a task.
 */
export function triggerStarts(tr: SimTrigger, hostZone: string, from: number, to: number, interp: Interpretation, clocks = new Map<number, Clock>()): number[] {
  const out: number[] = [];
  const reach = (tr.repetition?.durationMs ?? 0) + 2 * DAY;
  let clock: Clock;
  if (tr.start.kind === 'absolute') clock = fixedClock(tr.start.offsetMs);
  else {
    const cached = clocks.get(reach);
    clock = cached ?? zoneClock(hostZone, from - reach - 2 * SLACK - DAY, to + 2 * SLACK);
    if (!cached) clocks.set(reach, clock);
  }
  const activeAt = boundaryInstant(clock, tr.start);
  const endAt = tr.end ? boundaryInstant(tr.end.kind === 'absolute' ? fixedClock(tr.end.offsetMs) : clock, tr.end) : Infinity;
  const startWall = tr.start.kind === 'local' ? tr.start.wall : tr.start.at + tr.start.offsetMs;
  const firsts: number[] = [];
  if (tr.type === 'time') {
    if (tr.start.kind === 'local') resolveWall(clock, startWall, interp.fallBack, firsts);
    else firsts.push(tr.start.at);
    for (const s0 of firsts) chain(clock, startWall, s0, tr.repetition, endAt, from, to, interp, out);
    return sortedUnique(out);
  }
  const startDay = Math.floor(startWall / DAY);
  const timeOfDay = startWall - startDay * DAY;
  const firstDay = Math.max(startDay, Math.floor((from - reach - SLACK) / DAY));
  const lastDay = Math.floor((to + SLACK) / DAY);
  for (let day = firstDay; day <= lastDay; day++) {
    if (!dayRuns(tr.days!, day, startDay)) continue;
    const w0 = day * DAY + timeOfDay;
    firsts.length = 0;
    resolveWall(clock, w0, interp.fallBack, firsts);
    for (const s0 of firsts) if (s0 >= activeAt) chain(clock, w0, s0, tr.repetition, endAt, from, to, interp, out);
  }
  return sortedUnique(out);
}

/** Interpretations that provably start `task` at the same instants over a window. */
export interface InterpretationClass {
  /** The one to simulate. */
  readonly representative: Interpretation;
  /** Every interpretation of the class, the representative included. */
  readonly members: readonly Interpretation[];
}

/**
 * Groups {@link INTERPRETATIONS} into classes that start `task` at the same instants in
 * [from, to) on `hostZone`, so a caller simulates one per class. The fall-back and repetition
 * parameters only act through a host offset change inside the range a trigger's clock covers
 * (the same range {@link triggerStarts} uses); the Duration's end only on a repeating trigger
 * whose Duration a whole-minute start can land on exactly.
 */
export function interpretationClasses(task: SimTask, hostZone: string, from: number, to: number): InterpretationClass[] {
  let hostChanges = false;
  let endMatters = false;
  for (const tr of task.triggers) {
    if (!tr.enabled) continue;
    const reach = (tr.repetition?.durationMs ?? 0) + 2 * DAY;
    const changes = tr.start.kind === 'local' || tr.end?.kind === 'local' ? transitionsBetween(hostZone, from - reach - 2 * SLACK - DAY, to + 2 * SLACK) : [];
    if (changes.length > 0) hostChanges = true;
    if (!tr.repetition || tr.repetition.durationMs === null) continue;
    // Whole-minute starts, steps and changes put every start a whole number of minutes after
    // the first: a Duration with a fraction of a minute is never hit exactly, so its end
    // cannot matter.
    const start = tr.start.kind === 'local' ? tr.start.wall : tr.start.at;
    const wholeMinutes = start % MIN === 0 && tr.repetition.intervalMs % MIN === 0 && changes.every((c) => c.at % MIN === 0 && c.before % MIN === 0 && c.after % MIN === 0);
    if (!wholeMinutes || tr.repetition.durationMs % MIN === 0) endMatters = true;
  }
  const repeats = endMatters;
  const key = (i: Interpretation): string =>
    `${hostChanges ? `${i.fallBack}/${i.repetition}` : '*'}/${repeats ? i.durationEnd : '*'}`;
  const classes = new Map<string, Interpretation[]>();
  for (const i of INTERPRETATIONS) {
    const k = key(i);
    const list = classes.get(k);
    if (list) list.push(i);
    else classes.set(k, [i]);
  }
  return [...classes.values()].map((members) => ({ representative: members[0]!, members }));
}

// ---------------------------------------------------------------------------------------------
// The exec guard

/**
 * The exec guard over a run of starts: the distinct start minutes `m` (ascending) for which
 * `isFire(m)` holds, each once (the once-per-instant marker). Starts in any order.
 */
export function guardRuns(starts: readonly number[], isFire: (minute: number) => boolean): number[] {
  let sorted = starts;
  for (let i = 1; i < starts.length; i++) {
    if (starts[i]! < starts[i - 1]!) {
      sorted = Array.from(Float64Array.from(starts).sort());
      break;
    }
  }
  // Sorted, a minute's starts are adjacent: a start is judged once per minute, like the marker.
  const out: number[] = [];
  let prev = NaN;
  for (const s of sorted) {
    const m = Math.floor(s / MIN) * MIN;
    if (m === prev) continue;
    prev = m;
    if (isFire(m)) out.push(m);
  }
  return out;
}

/**
 * {@link guardRuns} with the fire times given as an ascending list of minutes (the fires of a
 * window): the distinct start minutes that are fires, by a linear merge. `starts` ascending.
 */
export function guardRunsAgainst(starts: readonly number[], fires: readonly number[]): number[] {
  const out: number[] = [];
  let j = 0;
  let prev = NaN;
  for (const s of starts) {
    const m = Math.floor(s / MIN) * MIN;
    if (m === prev) continue;
    if (m < prev) throw new Error('guardRunsAgainst: starts not ascending');
    prev = m;
    while (j < fires.length && fires[j]! < m) j++;
    if (j < fires.length && fires[j] === m) out.push(m);
  }
  return out;
}

/**
 * The instants the job runs: `cronsync exec --scheduled` at each start, which runs the job when
 * the start's minute is a §2a fire time of `schedule` in `jobZone` (isFireTime) and no earlier
 * start ran that instant.
 */
export function executed(starts: readonly number[], schedule: CronSpec | string, jobZone: string): number[] {
  let spec: CronSpec;
  if (typeof schedule === 'string') {
    const r = parseCron(schedule);
    if (!r.ok) throw new Error(`bad schedule ${schedule}`);
    spec = r.value;
  } else spec = schedule;
  return guardRuns(starts, (m) => isFireTime(spec, jobZone, new Date(m)));
}

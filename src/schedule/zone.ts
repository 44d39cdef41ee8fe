/**
 * Time-zone helpers of the schedule core: validation of IANA names and fast, cached
 * conversion between instants and the wall clock of a zone. Pure apart from process-wide
 * caches; no I/O. Offsets come from the runtime's ICU data through `Intl.DateTimeFormat`.
 *
 * Performance: a zone's UTC offsets are sampled every 6 hours on a grid anchored at 1 January
 * (UTC) of each year, and each change between two samples is located to the second by
 * bisection. The samples and changes of a year are computed lazily, one 6-hour interval at a
 * time and cached, so `cronsync exec --scheduled` (one minute to check) makes a few dozen
 * `Intl` calls instead of a whole year's; the result is the same as building the whole year
 * at once, because each interval is resolved independently on the same grid. Zones that are
 * UTC under another name (`UTC`, `Etc/UTC`, `GMT`, `Etc/GMT`) need no `Intl` at all: their
 * offset is 0 at every instant since year 1, which `Intl` itself confirms (see the tests).
 * Assumes at most one offset change per 6-hour window, true for every zone since 1900.
 */
import { remember } from '../memo.js';

const MS_MINUTE = 60_000;
const MS_HOUR = 3_600_000;
const SAMPLE_STEP = 6 * MS_HOUR;

/** One change of a zone's UTC offset. Offsets are in milliseconds east of UTC. */
export interface Transition {
  /** The first instant (UTC epoch ms) at which `after` applies. */
  readonly at: number;
  readonly before: number;
  readonly after: number;
}

/** A whole year of transitions, built eagerly (years before 100 and outside the Date range). */
interface EagerTable {
  readonly kind: 'eager';
  readonly startOffset: number;
  readonly transitions: readonly Transition[];
}

/**
 * A year whose 6-hour intervals are resolved on demand: `samples[i]` is the offset at
 * `start + i * SAMPLE_STEP` (i = 0..n) and `found[i]` the change inside interval i (null for
 * none), both undefined until first needed. `fixed` is set for UTC-equivalent zones.
 */
interface LazyTable {
  readonly kind: 'lazy';
  readonly zone: string;
  readonly start: number;
  readonly end: number;
  readonly n: number;
  readonly samples: Array<number | undefined>;
  readonly found: Array<Transition | null | undefined>;
  readonly fixed: number | undefined;
}

type YearTable = EagerTable | LazyTable;

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Distinct zone names remembered by `validity` and `formatters`; past it each starts again. */
const MAX_ZONES = 10_000;
const yearTables = new Map<string, Map<number, YearTable>>();
const validity = new Map<string, string | null>();

/** Names that are UTC itself, with the canonical name Intl gives them (checked by the tests). */
const UTC_NAMES: ReadonlyMap<string, string> = new Map([['UTC', 'UTC'], ['Etc/UTC', 'UTC'], ['GMT', 'UTC'], ['Etc/GMT', 'UTC']]);

/**
 * Returns the name ICU gives a zone the runtime can evaluate (`america/new_york` ->
 * `America/New_York`, `US/Eastern` -> `America/New_York`), or null when it does not know it.
 * Fixed offsets such as `+05:00` and the empty string are rejected even where the runtime would
 * accept them: schedulers need a named zone. This is what runs evaluate, as lenient as ICU, so
 * that a job installed before timeZoneProblem (./zone-names.ts) was strict keeps firing; what a
 * manifest may name is that stricter rule.
 */
export function canonicalTimeZone(zone: string): string | null {
  const hit = validity.get(zone);
  if (hit !== undefined) return hit;
  let result: string | null = UTC_NAMES.get(zone) ?? null;
  if (result === null && typeof zone === 'string' && /^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone) && zone.length <= 64) {
    try {
      // The formatter that offsetAt() needs next: building it once saves a second ICU set-up.
      result = formatter(zone).resolvedOptions().timeZone;
    } catch {
      result = null;
    }
  }
  return remember(validity, MAX_ZONES, zone, result);
}

/**
 * Tells whether `zone` is a time-zone name the schedule core can evaluate: an IANA name known
 * to the runtime (`UTC`, `Europe/Berlin`, `Etc/GMT+5`, legacy links such as `EST5EDT`), as
 * leniently as ICU reads it. Rejects empty strings and numeric offsets (`+05:00`).
 */
export function isValidTimeZone(zone: string): boolean {
  return canonicalTimeZone(zone) !== null;
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    // Only valid zones get here (the constructor throws otherwise); bounded like `validity`.
    remember(formatters, MAX_ZONES, zone, f);
  }
  return f;
}

const FORMAT_RE = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/;

/** Offset of `zone` at `utcMs`, straight from Intl (slow path; seconds precision). */
function rawOffset(zone: string, utcMs: number): number {
  const t = Math.floor(utcMs / 1000) * 1000;
  const f = formatter(zone);
  const m = FORMAT_RE.exec(f.format(t));
  let y: number, mo: number, d: number, h: number, mi: number, s: number;
  if (m) {
    mo = Number(m[1]); d = Number(m[2]); y = Number(m[3]);
    h = Number(m[4]); mi = Number(m[5]); s = Number(m[6]);
  } else {
    const p: Record<string, number> = {};
    for (const part of f.formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    y = p.year ?? 1970; mo = p.month ?? 1; d = p.day ?? 1; h = p.hour ?? 0; mi = p.minute ?? 0; s = p.second ?? 0;
  }
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC maps years 0..99 to 1900..1999; correct it so early instants stay consistent.
  const fixed = y < 100 ? new Date(wall).setUTCFullYear(y) : wall;
  return fixed - t;
}

/**
 * The first second after `lo` (offset `before`) at which the offset differs, searching up to
 * `hi`; bisection to one second, as every table is built.
 */
function bisect(zone: string, lo: number, hi: number, before: number): number {
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (mid <= lo) break;
    if (rawOffset(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

function buildEager(zone: string, start: number, end: number): EagerTable {
  const startOffset = rawOffset(zone, start);
  const transitions: Transition[] = [];
  let prevT = start;
  let prevO = startOffset;
  for (let t = start + SAMPLE_STEP; t <= end; t += SAMPLE_STEP) {
    const o = rawOffset(zone, t);
    if (o !== prevO) {
      const at = bisect(zone, prevT, t, prevO);
      if (at < end) transitions.push({ at, before: prevO, after: o });
    }
    prevT = t;
    prevO = o;
  }
  return { kind: 'eager', startOffset, transitions };
}

function yearTable(zone: string, year: number): YearTable {
  let byYear = yearTables.get(zone);
  if (!byYear) {
    byYear = new Map();
    yearTables.set(zone, byYear);
  }
  let table = byYear.get(year);
  if (!table) {
    // Date.UTC() reads years 0..99 as 1900..1999: those tables keep the eager construction.
    const start = Date.UTC(year, 0, 1);
    const end = Date.UTC(year + 1, 0, 1);
    if (year >= 100 && Number.isFinite(start) && Number.isFinite(end)) {
      const n = Math.round((end - start) / SAMPLE_STEP);
      const fixed = UTC_NAMES.has(zone) ? 0 : undefined;
      table = { kind: 'lazy', zone, start, end, n, samples: new Array(n + 1), found: new Array(n), fixed };
    } else {
      table = buildEager(zone, start, end);
    }
    byYear.set(year, table);
  }
  return table;
}

function sample(t: LazyTable, i: number): number {
  let o = t.samples[i];
  if (o === undefined) {
    o = t.fixed ?? rawOffset(t.zone, t.start + i * SAMPLE_STEP);
    t.samples[i] = o;
  }
  return o;
}

/** The change inside interval `i` of a lazy table, located exactly as the eager build does. */
function intervalChange(t: LazyTable, i: number): Transition | null {
  let tr = t.found[i];
  if (tr === undefined) {
    const before = sample(t, i);
    const after = sample(t, i + 1);
    tr = null;
    if (after !== before) {
      const at = bisect(t.zone, t.start + i * SAMPLE_STEP, t.start + (i + 1) * SAMPLE_STEP, before);
      if (at < t.end) tr = { at, before, after };
    }
    t.found[i] = tr;
  }
  return tr;
}

function startOffsetOf(t: YearTable): number {
  return t.kind === 'eager' ? t.startOffset : sample(t, 0);
}

/** The year's transitions with `fromMs <= at < toMs`, in order. */
function yearTransitions(t: YearTable, fromMs: number, toMs: number, out: Transition[]): void {
  if (t.kind === 'eager') {
    for (const tr of t.transitions) if (tr.at >= fromMs && tr.at < toMs) out.push(tr);
    return;
  }
  // A change found in interval i lies in (sample i, sample i + 1].
  const first = Math.max(0, Math.floor((fromMs - t.start) / SAMPLE_STEP) - 1);
  const last = Math.min(t.n - 1, Math.floor((toMs - t.start) / SAMPLE_STEP));
  for (let i = first; i <= last; i++) {
    const tr = intervalChange(t, i);
    if (tr && tr.at >= fromMs && tr.at < toMs) out.push(tr);
  }
}

/**
 * The UTC offset of `zone` at instant `utcMs`, in milliseconds east of UTC (New York in
 * winter: -18,000,000). Cached; the zone must be valid (see {@link isValidTimeZone}).
 */
export function offsetAt(zone: string, utcMs: number): number {
  const year = new Date(utcMs).getUTCFullYear();
  const table = yearTable(zone, year);
  if (table.kind === 'lazy') {
    const i = Math.min(table.n - 1, Math.floor((utcMs - table.start) / SAMPLE_STEP));
    const tr = intervalChange(table, i);
    // No change in this interval up to utcMs: the offset is that of its first sample, which
    // (one change per interval at most) is the `after` of the last change before it.
    return tr && tr.at <= utcMs ? tr.after : sample(table, i);
  }
  const tr = table.transitions;
  let lo = 0;
  let hi = tr.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tr[mid]!.at <= utcMs) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found >= 0 ? tr[found]!.after : table.startOffset;
}

/** Every offset transition of `zone` with `fromMs <= at < toMs`, in order. */
export function transitionsBetween(zone: string, fromMs: number, toMs: number): Transition[] {
  const out: Transition[] = [];
  if (!(toMs > fromMs)) return out;
  const y0 = new Date(fromMs).getUTCFullYear();
  const y1 = new Date(toMs).getUTCFullYear();
  for (let y = y0; y <= y1; y++) {
    const table = yearTable(zone, y);
    // A change exactly at New Year (UTC) shows up as a differing startOffset.
    if (y > y0) {
      const prevYearEnd = offsetAt(zone, Date.UTC(y, 0, 1) - 1);
      const startOffset = startOffsetOf(table);
      const at = Date.UTC(y, 0, 1);
      if (prevYearEnd !== startOffset && at >= fromMs && at < toMs) {
        out.push({ at, before: prevYearEnd, after: startOffset });
      }
    }
    yearTransitions(table, fromMs, toMs, out);
  }
  return out;
}

/**
 * One UTC year of a zone's offsets as plain data. A short-lived process (`cronsync exec
 * --scheduled`) can take back, with {@link importZoneYear}, what another process built with
 * the same ICU data, instead of paying for its first `Intl.DateTimeFormat` (10-20 ms).
 */
export interface ZoneYear {
  readonly zone: string;
  /** What {@link canonicalTimeZone} returns for `zone`. */
  readonly canonical: string;
  readonly year: number;
  /** Offset at 1 January 00:00 UTC of `year`. */
  readonly startOffset: number;
  /** The year's transitions, as the whole-year construction finds them. */
  readonly transitions: readonly Transition[];
}

/** The whole year `year` of `zone` as data, or null for an invalid zone or a year before 100. */
export function exportZoneYear(zone: string, year: number): ZoneYear | null {
  const canonical = canonicalTimeZone(zone);
  if (canonical === null || !Number.isInteger(year)) return null;
  const table = yearTable(zone, year);
  if (table.kind !== 'lazy') return null;
  const transitions: Transition[] = [];
  yearTransitions(table, table.start, table.end, transitions);
  return { zone, canonical, year, startOffset: startOffsetOf(table), transitions };
}

/** True when `v` is a well-formed {@link ZoneYear}: each change continues from the offset before it, in order, inside the year. */
export function isZoneYear(v: unknown): v is ZoneYear {
  const d = v as Partial<ZoneYear> | null;
  if (!d || typeof d.zone !== 'string' || typeof d.canonical !== 'string' || !Number.isInteger(d.year) || (d.year as number) < 100) return false;
  const start = Date.UTC(d.year as number, 0, 1);
  const end = Date.UTC((d.year as number) + 1, 0, 1);
  if (!Number.isFinite(end) || !Number.isInteger(d.startOffset) || !Array.isArray(d.transitions)) return false;
  let prev = start;
  let offset = d.startOffset as number;
  for (const tr of d.transitions as unknown[]) {
    const t = tr as Partial<Transition> | null;
    if (!t || !Number.isInteger(t.at) || !Number.isInteger(t.after) || t.before !== offset || (t.at as number) <= prev || (t.at as number) >= end || t.after === offset) return false;
    prev = t.at as number;
    offset = t.after as number;
  }
  return true;
}

/**
 * Seeds the caches with an exported year; later calls answer from it without `Intl`. Returns
 * false (and changes nothing) for malformed data or a year this process already knows.
 */
export function importZoneYear(data: ZoneYear): boolean {
  if (!isZoneYear(data)) return false;
  const { zone, canonical, year } = data;
  const known = validity.get(zone);
  if (known !== undefined && known !== canonical) return false;
  let byYear = yearTables.get(zone);
  if (byYear?.has(year)) return false;
  if (!byYear) {
    byYear = new Map();
    yearTables.set(zone, byYear);
  }
  validity.set(zone, canonical);
  byYear.set(year, { kind: 'eager', startOffset: data.startOffset, transitions: data.transitions.map((tr) => ({ at: tr.at, before: tr.before, after: tr.after })) });
  return true;
}

/** True for the names of UTC itself (`UTC`, `Etc/UTC`, `GMT`, `Etc/GMT`), which never need `Intl`. */
export function isUtcName(zone: string): boolean {
  return UTC_NAMES.has(zone);
}

/** A wall-clock reading: calendar fields as shown by a clock in some zone. */
export interface WallTime {
  readonly year: number;
  readonly month: number; // 1..12
  readonly day: number; // 1..31
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Day of week, 0 = Sunday. */
  readonly dow: number;
}

/** The wall clock of `zone` at `instant`. */
export function toWallTime(zone: string, instant: Date | number): WallTime {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  const w = new Date(ms + offsetAt(zone, ms));
  return {
    year: w.getUTCFullYear(),
    month: w.getUTCMonth() + 1,
    day: w.getUTCDate(),
    hour: w.getUTCHours(),
    minute: w.getUTCMinutes(),
    second: w.getUTCSeconds(),
    dow: w.getUTCDay(),
  };
}

/**
 * The instants at which the wall clock of `zone` shows the given minute: none (it falls in a
 * spring-forward gap), one, or two (fall-back overlap, earlier first).
 */
export function wallMinuteInstants(
  zone: string,
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
): Date[] {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const candidates = new Set<number>();
  // Any offset in force around this wall time is one of those in force within +-36h of it.
  for (const probe of [wall - 36 * MS_HOUR, wall, wall + 36 * MS_HOUR]) candidates.add(offsetAt(zone, probe));
  for (const t of transitionsBetween(zone, wall - 36 * MS_HOUR, wall + 36 * MS_HOUR)) {
    candidates.add(t.before);
    candidates.add(t.after);
  }
  const out: number[] = [];
  for (const o of candidates) {
    const t = wall - o;
    if (offsetAt(zone, t) === o && !out.includes(t)) out.push(t);
  }
  return out.sort((a, b) => a - b).map((t) => new Date(t));
}

/** Minutes east of UTC, for display (`offsetAt` / 60,000, rounded). */
export function offsetMinutes(zone: string, instant: Date | number): number {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  return Math.round(offsetAt(zone, ms) / MS_MINUTE);
}

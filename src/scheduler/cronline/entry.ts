/**
 * One job as cron lines, shared by the cron.d and crontab adapters: a marker line, then one
 * host line per translated schedule line, each running `<exec> exec --scheduled … tenant/name`.
 * Paused jobs keep their marker and have every line commented out with `#paused: `.
 */
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import { remember } from '../../memo.js';
import { resolveSchedule } from '../../schedule/fires.js';
import { decodeMarker, encodeMarker, entryHash, markerOf } from '../marker.js';
import type { MarkerLine } from '../marker.js';
import type { Horizon } from './zones.js';
import { hostLineFields, translateSchedule } from './translate.js';

/** Prefix of a paused (commented-out) entry line. */
export const PAUSED_PREFIX = '#paused: ';
/** Debian cron refuses commands of this many characters or more ("command too long"). */
export const MAX_COMMAND = 999;

/** What an entry's command line needs. */
export interface EntryContext {
  sourceId: string;
  hostZone: string;
  /** Program and leading args, e.g. [node, /…/main.js] or [/usr/bin/cronsync]. */
  exec: readonly string[];
  /** Extra `exec` options before the job id, e.g. [`--state-dir`, DIR]. */
  execOptions: readonly string[];
  /** cron.d user field; absent in a crontab. */
  user?: string;
  horizon?: Horizon;
}

/** Quotes one word for /bin/sh when needed. */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command part of a cron line; `%` is escaped (cron turns a bare `%` into a newline).
 * @throws {SchedulerError} when it reaches Debian's command length limit.
 */
export function cronCommand(ctx: EntryContext, jobId: string): string {
  const words = [...ctx.exec, 'exec', '--scheduled', ...ctx.execOptions, jobId];
  if (words.some((w) => /[\n\r\0]/.test(w))) {
    throw new SchedulerError('exec command contains a line break or NUL', { jobId });
  }
  const cmd = words.map(shellWord).join(' ').replace(/%/g, '\\%');
  if (cmd.length >= MAX_COMMAND) {
    throw new SchedulerError(`command of ${jobId} is ${cmd.length} characters; Debian cron refuses commands of ${MAX_COMMAND} or more ("command too long"): install cronsync under a shorter path`, { jobId, length: cmd.length });
  }
  return cmd;
}


/**
 * Host line fields by schedule and zone, per entry context: thousands of jobs share a handful of
 * schedules and zones, and the translation is a pure function of them and the context.
 */
const fieldsMemo = new WeakMap<EntryContext, Map<string, readonly string[]>>();
/** Distinct schedule/zone pairs remembered per context; past it the memo starts again. */
const MAX_FIELDS = 1024;

/** The host line fields (schedule part of each cron line) of `schedule` in `zone`. */
function lineFields(schedule: string, zone: string, ctx: EntryContext): readonly string[] {
  let memo = fieldsMemo.get(ctx);
  if (!memo) fieldsMemo.set(ctx, (memo = new Map()));
  const key = `${zone}\0${schedule}`;
  let fields = memo.get(key);
  if (fields === undefined) {
    fields = remember(memo, MAX_FIELDS, key, translateSchedule(resolveSchedule(schedule, zone), zone, ctx.hostZone, ctx.horizon).map(hostLineFields));
  }
  return fields;
}

/** The cron lines (without marker) of one job. */
export function entryLines(d: DesiredJob, ctx: EntryContext): string[] {
  const fields = lineFields(d.job.spec.schedule, d.job.spec.timezone, ctx);
  const cmd = cronCommand(ctx, d.id);
  const lines = fields.map((f) => {
    const text = ctx.user === undefined ? `${f} ${cmd}` : `${f} ${ctx.user} ${cmd}`;
    return d.job.spec.paused ? PAUSED_PREFIX + text : text;
  });
  if (lines.length === 0) {
    // A schedule that matches no day (`0 0 31 2 *`) still keeps its marker, so it stays ours.
    lines.push(`${PAUSED_PREFIX}never fires: ${d.job.spec.schedule}`);
  }
  return lines;
}

/** The full text of one job's entry (marker line + cron lines, `\n`-joined, no final newline). */
export function renderJobEntry(d: DesiredJob, ctx: EntryContext): string {
  const lines = entryLines(d, ctx);
  return [encodeMarker(markerOf(d, ctx.sourceId), lines.join('\n')), ...lines].join('\n');
}

/** One entry read back: its marker and lines (exact text, `\r` kept). */
export interface ParsedEntry {
  marker: MarkerLine;
  /** Line index of the marker in the parsed text. */
  start: number;
  /** Line index after the last line of the entry. */
  end: number;
  lines: string[];
}

/** Is `line` one of the cron lines of job `jobId` (active or paused)? */
function isEntryLine(line: string, jobId: string): boolean {
  const t = line.replace(/\r$/, '');
  if (t.startsWith(PAUSED_PREFIX)) return true;
  return t.includes(' exec --scheduled ') && t.endsWith(` ${jobId}`);
}

/**
 * Splits lines into cronsync entries (a marker, then the cron lines right after it) and the
 * rest. Never throws; a marker that does not decode is treated as an ordinary comment.
 */
export function parseEntries(lines: readonly string[]): { entries: ParsedEntry[]; other: number[] } {
  const entries: ParsedEntry[] = [];
  const other: number[] = [];
  for (let i = 0; i < lines.length; ) {
    const marker = decodeMarker(lines[i]!);
    if (!marker) {
      other.push(i++);
      continue;
    }
    let j = i + 1;
    while (j < lines.length && isEntryLine(lines[j]!, marker.marker.jobId) && !decodeMarker(lines[j]!)) j++;
    entries.push({ marker, start: i, end: j, lines: lines.slice(i + 1, j).map((l) => l.replace(/\r$/, '')) });
    i = j;
  }
  return { entries, other };
}

/** Raw text, paused flag and drift of a parsed entry (drift: lines differ from the marker's hash). */
export function describeEntry(e: ParsedEntry, allLines: readonly string[]): { raw: string; paused: boolean; drifted: boolean } {
  const raw = allLines.slice(e.start, e.end).map((l) => l.replace(/\r$/, '')).join('\n');
  const paused = e.lines.length > 0 && e.lines.every((l) => l.startsWith(PAUSED_PREFIX));
  const drifted = e.lines.length === 0 || e.marker.entryHash !== entryHash(e.lines.join('\n'));
  return { raw, paused, drifted };
}

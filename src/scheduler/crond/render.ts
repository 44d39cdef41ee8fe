/**
 * Renders the cron.d files (SPEC §8) that the agents of a host share: `cronsync`, and
 * `cronsync-2`, `cronsync-3`, … when one file would pass Debian cron's 10,000-line limit. Each
 * file has a header that names no source, then one entry per job, sorted by job id and source
 * id, then the stray lines found in it. Every agent renders the same bytes for the same
 * entries, so agents that take turns rewriting the files converge instead of flapping.
 *
 * Which file holds an entry ({@link layoutCronD}): an installed entry stays in the file it is
 * in; new entries (and the few an overfull file must shed) fill the first files with room, in
 * job id order; a file whose entries fit into the room of lower-numbered ones is emptied and
 * deleted. A second sync therefore writes nothing, and adding a job writes one file. (Hashing
 * job ids to files would move entries whenever the number of files changes, and filling in
 * job id order on every sync would rewrite every file after the first added id.)
 */
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import type { InstalledEntry } from '../../plan/types.js';
import { renderJobEntry } from '../cronline/entry.js';
import type { EntryContext } from '../cronline/entry.js';

/** One entry's text and what it is sorted by. */
interface EntryItem {
  id: string;
  sourceId: string;
  text: string;
  /** Lines it adds to a file: its own and the blank line before it. */
  cost: number;
}

/** Lines of a text without final newline. */
function linesOf(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
const item = (id: string, sourceId: string, text: string): EntryItem => ({ id, sourceId, text, cost: linesOf(text) + 1 });

const byIdThenSource = (a: EntryItem, b: EntryItem): number =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0;

function entryItems(
  jobs: readonly DesiredJob[],
  ctx: EntryContext,
  preserve: readonly InstalledEntry[],
  entry: (d: DesiredJob) => string = (d) => renderJobEntry(d, ctx),
): EntryItem[] {
  const items = jobs.map((d) => item(d.id, ctx.sourceId, entry(d)));
  const ids = new Set(items.map((i) => i.id));
  for (const e of preserve) {
    if (e.marker && !ids.has(e.marker.jobId)) {
      ids.add(e.marker.jobId);
      items.push(item(e.marker.jobId, e.marker.sourceId, e.raw));
    }
  }
  return items;
}

/**
 * The entry texts of a file or block, sorted by job id: `jobs` as `entry` gives them (default:
 * renderJobEntry), plus the raw text of `preserve` entries (ours, copied through unchanged)
 * whose job is not rendered.
 */
export function entryTexts(
  jobs: readonly DesiredJob[],
  ctx: EntryContext,
  preserve: readonly InstalledEntry[] = [],
  entry?: (d: DesiredJob) => string,
): string[] {
  return entryItems(jobs, ctx, preserve, entry).sort(byIdThenSource).map((i) => i.text);
}

/**
 * Lines of one cron.d file or crontab that Debian cron reads. Its daemon (3.0pl1-134 and later;
 * checked with 3.0pl1-162) ignores a whole file that runs past about 10,000 lines, comments and
 * blank lines counted ("crontab must not be longer than 10000 lines, this crontab file will be
 * ignored": 10,003 lines still load, 10,004 do not), and `crontab` refuses more than 10,000.
 * The limit is per file: 300 files, or 45,000 entries in five files, all load.
 */
export const MAX_LINES = 10_000;

/** Name of the first file in the cron dir; Debian ignores names with dots, so none has one. */
export const CROND_FILE = 'cronsync';

/** Name of our file number `index` (1-based): `cronsync`, `cronsync-2`, `cronsync-3`, … */
export function crondFileName(index: number): string {
  return index === 1 ? CROND_FILE : `${CROND_FILE}-${index}`;
}

/** The number of one of our file names (`cronsync` is 1), or null for any other name. */
export function crondFileIndex(name: string): number | null {
  if (name === CROND_FILE) return 1;
  const m = /^cronsync-([1-9][0-9]{0,5})$/.exec(name);
  return m && Number(m[1]) >= 2 ? Number(m[1]) : null;
}

/** Settings of the cron.d files. */
export interface CronDContext extends EntryContext {
  user: string;
}

/** Another source's entry found in a file: copied through byte-identical. */
export interface KeptEntry {
  sourceId: string;
  jobId: string;
  /** Its lines as found (`\r` kept), `\n`-joined, no final newline. */
  text: string;
}

/** What a rewrite keeps of the current file. */
export interface KeptText {
  /** Entries of other sources. */
  entries: readonly KeptEntry[];
  /** Lines that are no cronsync entry (added by hand or by other tools), in file order. */
  lines: readonly string[];
}

/** Comment line above the kept stray lines. */
export const KEPT_NOTE = '# Not managed by cronsync, kept as found:';

/**
 * The header of a file (everything before the first entry). It holds no source id and no
 * state dir: several agents share the files, and each entry carries its own `--state-dir`.
 */
export function renderHeader(): string[] {
  return [
    '# Managed by cronsync agents: do not edit, the next sync overwrites it.',
    '# Change the job manifests in Git instead. Times are on the host clock; see `cronsync status`.',
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  ];
}

/** Lines of a file holding only the header and `kept`. */
function baseCost(kept: KeptText): number {
  const stray = kept.lines.length > 0 ? kept.lines.length + 2 : 0;
  return renderHeader().length + kept.entries.reduce((n, e) => n + linesOf(e.text) + 1, 0) + stray;
}

/**
 * Refuses an entry that no file can hold: with the header, more than {@link MAX_LINES} lines.
 * @throws {SchedulerError} naming the job and the limit.
 */
export function assertEntryFits(text: string, jobId: string): void {
  const lines = linesOf(text);
  if (renderHeader().length + lines + 1 > MAX_LINES) {
    throw new SchedulerError(`entry of ${jobId} has ${lines} lines; a cron.d file holds at most ${MAX_LINES} lines with its header, Debian cron ignores longer files`, { jobId, lines });
  }
}

function fileText(items: readonly EntryItem[], kept: KeptText): string {
  const all = [...items, ...kept.entries.map((e) => item(e.jobId, e.sourceId, e.text))];
  const parts = [renderHeader().join('\n'), ...all.sort(byIdThenSource).map((i) => i.text)];
  if (kept.lines.length > 0) parts.push([KEPT_NOTE, ...kept.lines].join('\n'));
  return `${parts.join('\n\n')}\n`;
}

/**
 * The text of one file holding `jobs`, `preserve` (our entries copied through) and `kept`
 * (other sources' entries and stray lines found in it, kept as they are), whatever its length:
 * {@link layoutCronD} decides what goes into which file.
 */
export function renderCronD(
  jobs: readonly DesiredJob[],
  ctx: CronDContext,
  kept: KeptText = { entries: [], lines: [] },
  preserve: readonly InstalledEntry[] = [],
): string {
  return fileText(entryItems(jobs, ctx, preserve), kept);
}

/** One of our files as apply() found it. */
export interface CurrentFile {
  /** Its number (see {@link crondFileIndex}). */
  index: number;
  /** What stays in it: other sources' entries and stray lines. */
  kept: KeptText;
  /** Job ids of the entries of this agent's source ids in it (they stay there). */
  owned: readonly string[];
}

/** One file of a layout. */
export interface CronDFile {
  /** Name in the cron dir (`cronsync`, `cronsync-2`). */
  name: string;
  text: string;
  /** Job ids of this agent's entries in it, sorted. */
  ids: string[];
}

/** What {@link layoutCronD} lays out besides the jobs. */
export interface LayoutInput {
  /** Our files as they are (none: a fresh layout, as `cronsync render` shows it). */
  current?: readonly CurrentFile[];
  /** Our entries copied through unchanged (see Plan.preserve). */
  preserve?: readonly InstalledEntry[];
  /** Numbers whose file names are held by files that are not ours. */
  taken?: ReadonlySet<number>;
  /** A job's entry text; default: renderJobEntry with the context. */
  entry?: (d: DesiredJob) => string;
}

/** A file being laid out. */
interface Slot {
  index: number;
  kept: KeptText;
  items: EntryItem[];
  lines: number;
}

const add = (s: Slot, entry: EntryItem): void => {
  s.items.push(entry);
  s.lines += entry.cost;
};
/** A file with nothing but the header. */
const isBare = (s: Slot): boolean => s.items.length === 0 && s.kept.entries.length === 0 && s.kept.lines.length === 0;

/**
 * Empties the highest-numbered files whose entries (and nothing else) fit into the room of
 * lower-numbered ones, first fit in job id order, until none does: after jobs were removed,
 * fewer files, and the result is a fixed point (a new layout of it moves nothing).
 */
function compact(slots: readonly Slot[]): void {
  for (let moved = true; moved; ) {
    moved = false;
    for (let i = slots.length - 1; i > 0; i--) {
      const from = slots[i]!;
      if (from.items.length === 0 || from.kept.entries.length > 0 || from.kept.lines.length > 0) continue;
      const room = slots.slice(0, i).map((s) => s.lines);
      const items = [...from.items].sort(byIdThenSource);
      const target = items.map((e) => {
        const at = room.findIndex((lines) => lines + e.cost <= MAX_LINES);
        if (at >= 0) room[at]! += e.cost;
        return at;
      });
      if (target.some((at) => at < 0)) continue;
      items.forEach((e, k) => add(slots[target[k]!]!, e));
      from.items = [];
      from.lines = baseCost(from.kept);
      moved = true;
    }
  }
}

/**
 * Spreads the entries of `jobs` and `preserve` over our files so that none passes
 * {@link MAX_LINES}. An entry found in `current` stays in its file (the lowest-numbered one
 * when found twice); an overfull file sheds its entries with the highest job ids; new and shed
 * entries go, in job id order, to the first file with room, new files taking the first free
 * numbers not `taken`; last, files that fewer
 * files can absorb are emptied (see compact). Deterministic, and a fixed point: laying out the
 * result again moves nothing. An entry too long for any file gets a file of its own (the
 * planner refuses such jobs; see {@link assertEntryFits}).
 * @returns every file with an entry or a kept line, by number (none at all when there is
 * nothing to hold: a file of ours with only its header is removed, e.g. by `prune --all`).
 */
export function layoutCronD(jobs: readonly DesiredJob[], ctx: CronDContext, input: LayoutInput = {}): CronDFile[] {
  const { current = [], preserve = [], taken = new Set<number>() } = input;
  const slots = new Map<number, Slot>();
  const slot = (index: number, kept: KeptText = { entries: [], lines: [] }): Slot => {
    let s = slots.get(index);
    if (!s) slots.set(index, (s = { index, kept, items: [], lines: baseCost(kept) }));
    return s;
  };
  const home = new Map<string, number>();
  for (const f of [...current].sort((a, b) => a.index - b.index)) {
    slot(f.index, f.kept);
    for (const id of f.owned) if (!home.has(id)) home.set(id, f.index);
  }
  const pending: EntryItem[] = [];
  for (const e of entryItems(jobs, ctx, preserve, input.entry)) {
    const at = home.get(e.id);
    if (at === undefined) pending.push(e);
    else add(slot(at), e);
  }
  for (const s of slots.values()) {
    s.items.sort(byIdThenSource);
    while (s.lines > MAX_LINES && s.items.length > 0) {
      const shed = s.items.pop()!;
      s.lines -= shed.cost;
      pending.push(shed);
    }
  }
  slot(1);
  for (const e of pending.sort(byIdThenSource)) {
    for (let index = 1; ; index++) {
      if (taken.has(index)) continue;
      const s = slot(index);
      if (s.lines + e.cost <= MAX_LINES || isBare(s)) {
        add(s, e);
        break;
      }
    }
  }
  compact([...slots.values()].sort((a, b) => a.index - b.index));
  return [...slots.values()]
    .filter((s) => !isBare(s))
    .sort((a, b) => a.index - b.index)
    .map((s) => ({ name: crondFileName(s.index), text: fileText(s.items, s.kept), ids: s.items.map((i) => i.id).sort() }));
}

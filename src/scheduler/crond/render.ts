/**
 * Renders `<cronDir>/cronsync`, the cron.d file (SPEC §8) that the agents of a host share: a
 * header that names no source, then one entry per job of every source, sorted by job id and
 * source id, then the stray lines found in the file. Every agent renders the same bytes for the
 * same entries, so agents that take turns rewriting the file converge instead of flapping.
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
}

const byIdThenSource = (a: EntryItem, b: EntryItem): number =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0;

function entryItems(jobs: readonly DesiredJob[], ctx: EntryContext, preserve: readonly InstalledEntry[]): EntryItem[] {
  const items = jobs.map((d) => ({ id: d.id as string, sourceId: ctx.sourceId, text: renderJobEntry(d, ctx) }));
  const ids = new Set(items.map((i) => i.id));
  for (const e of preserve) {
    if (e.marker && !ids.has(e.marker.jobId)) {
      ids.add(e.marker.jobId);
      items.push({ id: e.marker.jobId, sourceId: e.marker.sourceId, text: e.raw });
    }
  }
  return items;
}

/**
 * The entry texts of a file or block, sorted by job id: rendered `jobs`, plus the raw text of
 * `preserve` entries (ours, copied through unchanged) whose job is not rendered.
 */
export function entryTexts(jobs: readonly DesiredJob[], ctx: EntryContext, preserve: readonly InstalledEntry[] = []): string[] {
  return entryItems(jobs, ctx, preserve).sort(byIdThenSource).map((i) => i.text);
}

/** Debian cron reads at most this many lines of one crontab file. */
export const MAX_LINES = 10_000;

/** Name of the file in the cron dir; Debian ignores names with dots, so it has none. */
export const CROND_FILE = 'cronsync';

/** Settings of the cron.d file. */
export interface CronDContext extends EntryContext {
  user: string;
}

/** Another source's entry found in the file: copied through byte-identical. */
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
 * The header of the file (everything before the first entry). It holds no source id and no
 * state dir: several agents share the file, and each entry carries its own `--state-dir`.
 */
export function renderHeader(): string[] {
  return [
    '# Managed by cronsync agents: do not edit, the next sync overwrites it.',
    '# Change the job manifests in Git instead. Times are on the host clock; see `cronsync status`.',
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  ];
}

/**
 * The file content for `jobs`, `preserve` (our entries copied through) and `kept` (other
 * sources' entries and stray lines found in the file, kept as they are).
 * @throws {SchedulerError} when a command or the file exceeds Debian cron's limits.
 */
export function renderCronD(
  jobs: readonly DesiredJob[],
  ctx: CronDContext,
  kept: KeptText = { entries: [], lines: [] },
  preserve: readonly InstalledEntry[] = [],
): string {
  const items = [...entryItems(jobs, ctx, preserve), ...kept.entries.map((e) => ({ id: e.jobId, sourceId: e.sourceId, text: e.text }))];
  const parts = [renderHeader().join('\n'), ...items.sort(byIdThenSource).map((i) => i.text)];
  if (kept.lines.length > 0) parts.push([KEPT_NOTE, ...kept.lines].join('\n'));
  const text = `${parts.join('\n\n')}\n`;
  const lines = text.split('\n').length - 1;
  if (lines > MAX_LINES) {
    throw new SchedulerError(`cron.d file would have ${lines} lines; Debian cron reads at most ${MAX_LINES}`, { lines, jobs: jobs.length });
  }
  return text;
}

/**
 * Renders `<cronDir>/cronsync`, the one cron.d file of an agent (SPEC §8): a header, the
 * variable lines the shim needs (no secrets), then one entry per job sorted by id.
 */
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import type { InstalledEntry } from '../../plan/types.js';
import { renderJobEntry } from '../cronline/entry.js';
import type { EntryContext } from '../cronline/entry.js';

/**
 * The entry texts of a file or block, sorted by job id: rendered `jobs`, plus the raw text of
 * `preserve` entries (ours, copied through unchanged) whose job is not rendered.
 */
export function entryTexts(jobs: readonly DesiredJob[], ctx: EntryContext, preserve: readonly InstalledEntry[] = []): string[] {
  const items = jobs.map((d) => ({ id: d.id as string, text: renderJobEntry(d, ctx) }));
  const ids = new Set(items.map((i) => i.id));
  for (const e of preserve) {
    if (e.marker && !ids.has(e.marker.jobId)) {
      ids.add(e.marker.jobId);
      items.push({ id: e.marker.jobId, text: e.raw });
    }
  }
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((i) => i.text);
}

/** Debian cron reads at most this many lines of one crontab file. */
export const MAX_LINES = 10_000;

/** Name of the file in the cron dir; Debian ignores names with dots, so it has none. */
export const CROND_FILE = 'cronsync';

/** Settings of the cron.d file. */
export interface CronDContext extends EntryContext {
  user: string;
  /** Value of CRONSYNC_STATE_DIR for `exec`. */
  stateDir: string;
}

function envValue(name: string, value: string): string {
  if (/[\n\r\0]/.test(value)) throw new SchedulerError(`${name} contains a line break`, { name });
  return `${name}=${value}`;
}

/** The header of the file (everything before the first entry). */
export function renderHeader(ctx: CronDContext): string[] {
  return [
    `# Managed by cronsync for source ${ctx.sourceId}: do not edit, the next sync overwrites it.`,
    '# Change the job manifests in Git instead. Times are on the host clock; see `cronsync status`.',
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    envValue('CRONSYNC_STATE_DIR', ctx.stateDir),
  ];
}

/**
 * The file content for `jobs`, `preserve` (our entries copied through) and `kept` (foreign
 * text found in the file, kept as is).
 * @throws {SchedulerError} when a command or the file exceeds Debian cron's limits.
 */
export function renderCronD(
  jobs: readonly DesiredJob[],
  ctx: CronDContext,
  kept: readonly string[] = [],
  preserve: readonly InstalledEntry[] = [],
): string {
  const parts = [renderHeader(ctx).join('\n'), ...entryTexts(jobs, ctx, preserve)];
  if (kept.length > 0) parts.push(['# Not managed by this source, kept as found:', ...kept].join('\n'));
  const text = `${parts.join('\n\n')}\n`;
  const lines = text.split('\n').length - 1;
  if (lines > MAX_LINES) {
    throw new SchedulerError(`cron.d file would have ${lines} lines; Debian cron reads at most ${MAX_LINES}`, { lines, jobs: jobs.length });
  }
  return text;
}

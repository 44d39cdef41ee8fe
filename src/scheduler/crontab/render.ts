/**
 * Renders this source's block of a user's crontab and merges it into the existing text,
 * keeping every byte outside the block (comments, variables, CRLF, other sources' blocks).
 * No `VAR=` lines in the block: they would leak into the user's entries that follow it.
 */
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import type { InstalledEntry } from '../../plan/types.js';
import type { EntryContext } from '../cronline/entry.js';
import { entryTexts, MAX_LINES } from '../crond/render.js';
import { BLOCK_NOTE, beginLine, endLine, findBlocks } from './parse.js';

/**
 * The block text (ending with `\n`) for `jobs` and `preserve`d entries, or '' when there are
 * none. `entry` gives a job's entry text; default: renderJobEntry.
 */
export function renderBlock(
  jobs: readonly DesiredJob[],
  ctx: EntryContext,
  preserve: readonly InstalledEntry[] = [],
  entry?: (d: DesiredJob) => string,
): string {
  const body = entryTexts(jobs, ctx, preserve, entry);
  if (body.length === 0) return '';
  return `${[beginLine(ctx.sourceId), BLOCK_NOTE, ...body, endLine(ctx.sourceId)].join('\n')}\n`;
}

/**
 * The crontab text with this source's block replaced by `block` (appended if absent, removed
 * when `block` is ''). Blocks of `previous` source ids (this agent's own, before its source id
 * changed) are removed, `block` taking the place of the first of them when this source has no
 * block yet. Only those blocks' bytes change, plus a newline where the text must end in one for
 * cron to accept it.
 * @throws {SchedulerError} when the result exceeds Debian cron's line limit.
 */
export function mergeBlock(current: string, block: string, sourceId: string, previous: readonly string[] = []): string {
  const ours = findBlocks(current).filter((b) => b.sourceId === sourceId || previous.includes(b.sourceId));
  let out: string;
  if (ours.length === 0) {
    if (block === '') return current;
    out = current === '' || current.endsWith('\n') ? current + block : `${current}\n${block}`;
  } else {
    const at = Math.max(0, ours.findIndex((b) => b.sourceId === sourceId));
    out = '';
    let pos = 0;
    ours.forEach((b, i) => {
      out += current.slice(pos, b.start);
      // A BEGIN line on the last line without a newline: our block brings its own.
      if (i === at) out += block;
      pos = b.end;
    });
    out += current.slice(pos);
  }
  // Debian's crontab refuses a file whose last line has no newline.
  if (out !== '' && !out.endsWith('\n')) out += '\n';
  const lines = out.split('\n').length - 1;
  if (lines > MAX_LINES) {
    throw new SchedulerError(`crontab would have ${lines} lines; Debian cron reads at most ${MAX_LINES}`, { lines });
  }
  return out;
}

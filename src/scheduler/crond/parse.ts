/**
 * Reads back our cron.d files (`cronsync`, `cronsync-2`, …) and the markers in other cron.d
 * files into inventory entries.
 */
import type { InstalledEntry } from '../../plan/types.js';
import { describeEntry, parseEntries } from '../cronline/entry.js';
import { MARKER_PREFIX } from '../marker.js';
import { crondFileIndex } from './render.js';
import type { KeptEntry, KeptText } from './render.js';

/**
 * Is the cron.d file `name` with content `text` one of ours (its every line read back, and
 * rewritten by apply)? `cronsync` always is; `cronsync-N` when it holds a cronsync marker or
 * our header, so that a file of that name written by someone else is never touched.
 */
export function isOurFile(name: string, text: string): boolean {
  const index = crondFileIndex(name);
  if (index === null) return false;
  return index === 1 || text.includes(MARKER_PREFIX) || /^# Managed by cronsync/.test(text);
}

/** Result of parsing one cron.d file. */
export interface ParsedCronD {
  /** Entries with a decodable marker (any source). */
  entries: InstalledEntry[];
  /** Other sources' entries (not in `owned`) and stray lines, to keep when rewriting our file. */
  kept: KeptText;
}

/**
 * Our own comment lines, dropped wherever they are (the rewrite renders them again). The
 * `for source` header and `Not managed by this source` note are those of files written
 * before entries carried `--state-dir`.
 */
const NOTES = [/^# Managed by cronsync/, /^# Change the job manifests/, /^# Not managed by this source/, /^# Not managed by cronsync/];
/**
 * The notes of our header. The others (`Not managed by cronsync, kept as found:`) come before
 * the lines kept in a file: they end the header, so that a `PATH=` kept after them, in a file
 * with no entries left, stays with those lines as it does in any other file.
 */
const HEADER_NOTES = NOTES.slice(0, 2);
/**
 * The variables of our header, dropped only in the leading header: the same names further
 * down were added by hand for the lines after them, and are kept with those lines.
 * `CRONSYNC_STATE_DIR=` is no longer written (each entry has `--state-dir`) but is dropped from
 * the header of older files.
 */
const HEADER_VARS = [/^SHELL=/, /^PATH=/, /^CRONSYNC_STATE_DIR=/];

/**
 * Parses a cron.d file written by renderCronD (or edited by hand). `file` names the file in
 * entry keys; drift is checked for `sourceId`'s entries; entries of `owned` source ids (this
 * agent's current and previous ids) are not kept. Never throws.
 */
export function parseCronD(text: string, file: string, sourceId: string, owned: ReadonlySet<string> = new Set([sourceId])): ParsedCronD {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const { entries, other } = parseEntries(lines);
  const out: InstalledEntry[] = [];
  const kept: { entries: KeptEntry[]; lines: string[] } = { entries: [], lines: [] };
  for (const e of entries) {
    const d = describeEntry(e, lines);
    const { marker } = e.marker;
    out.push({ key: `cron.d:${file}:${marker.jobId}`, marker, paused: d.paused, drifted: marker.sourceId === sourceId && d.drifted, raw: d.raw });
    if (!owned.has(marker.sourceId)) kept.entries.push({ sourceId: marker.sourceId, jobId: marker.jobId, text: lines.slice(e.start, e.end).join('\n') });
  }
  const isHeader = (line: string): boolean => line.trim() === '' || HEADER_NOTES.some((re) => re.test(line)) || HEADER_VARS.some((re) => re.test(line));
  let headerEnd = 0;
  while (headerEnd < lines.length && isHeader(lines[headerEnd]!)) headerEnd++;
  for (const i of other) {
    const line = lines[i]!;
    if (line.trim() === '' || NOTES.some((re) => re.test(line)) || (i < headerEnd && HEADER_VARS.some((re) => re.test(line)))) continue;
    kept.lines.push(line);
    if (!line.trimStart().startsWith('#')) {
      out.push({ key: `cron.d:${file}:line:${i + 1}`, marker: null, paused: false, drifted: false, raw: line });
    }
  }
  return { entries: out, kept };
}

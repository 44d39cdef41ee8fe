/** Reads back `<cronDir>/cronsync` (and markers in other cron.d files) into inventory entries. */
import type { InstalledEntry } from '../../plan/types.js';
import { describeEntry, parseEntries } from '../cronline/entry.js';

/** Result of parsing one cron.d file. */
export interface ParsedCronD {
  /** Entries with a decodable marker (any source). */
  entries: InstalledEntry[];
  /** Text of other sources' entries (not in `owned`) and stray lines, to keep when rewriting our file. */
  kept: string[];
}

const HEADER = [/^# Managed by cronsync/, /^# Change the job manifests/, /^# Not managed by this source/, /^SHELL=/, /^PATH=/, /^CRONSYNC_STATE_DIR=/];

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
  const kept: string[] = [];
  for (const e of entries) {
    const d = describeEntry(e, lines);
    const ours = e.marker.marker.sourceId === sourceId;
    out.push({ key: `cron.d:${file}:${e.marker.marker.jobId}`, marker: e.marker.marker, paused: d.paused, drifted: ours && d.drifted, raw: d.raw });
    if (!owned.has(e.marker.marker.sourceId)) kept.push(...lines.slice(e.start, e.end));
  }
  for (const i of other) {
    const line = lines[i]!;
    if (line.trim() === '' || HEADER.some((re) => re.test(line))) continue;
    kept.push(line);
    if (!line.trimStart().startsWith('#')) {
      out.push({ key: `cron.d:${file}:line:${i + 1}`, marker: null, paused: false, drifted: false, raw: line });
    }
  }
  return { entries: out, kept };
}

/**
 * Reads a user's crontab: finds this source's managed blocks (`# BEGIN cronsync <source>` …
 * `# END cronsync <source>`) as exact character spans, so a rewrite can keep every other byte,
 * and lists entries (ours, other sources', foreign lines) for the inventory. Never throws.
 */
import type { InstalledEntry } from '../../plan/types.js';
import { describeEntry, parseEntries, PAUSED_PREFIX } from '../cronline/entry.js';
import { decodeMarker, MARKER_PREFIX } from '../marker.js';

/** First comment line of a block after BEGIN. */
export const BLOCK_NOTE = '# Managed by cronsync: do not edit inside this block, change the manifests in Git.';

/** BEGIN line of a source's block. */
export const beginLine = (sourceId: string): string => `# BEGIN cronsync ${sourceId}`;
/** END line of a source's block. */
export const endLine = (sourceId: string): string => `# END cronsync ${sourceId}`;

/** A block found in the text: [start, end) character offsets, end after its last newline. */
export interface BlockSpan {
  sourceId: string;
  start: number;
  end: number;
  /** Lines inside the block (between BEGIN and END), `\r` removed. */
  body: string[];
  terminated: boolean;
}

interface Line {
  text: string;
  start: number;
  end: number;
}

function splitLines(text: string): Line[] {
  const out: Line[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    out.push({ text: text.slice(pos, nl < 0 ? text.length : nl).replace(/\r$/, ''), start: pos, end });
    pos = end;
  }
  return out;
}

const BEGIN_RE = /^# BEGIN cronsync (\S+)\s*$/;

function ownsLine(text: string): boolean {
  return text === BLOCK_NOTE || text.startsWith(MARKER_PREFIX) || text.startsWith(PAUSED_PREFIX) || /\sexec --scheduled\s/.test(text);
}

/** Every cronsync block (any source) in a crontab text. */
export function findBlocks(text: string): BlockSpan[] {
  const lines = splitLines(text);
  const blocks: BlockSpan[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = BEGIN_RE.exec(lines[i]!.text);
    if (!m) continue;
    const sourceId = m[1]!;
    const nextBegin = lines.findIndex((l, k) => k > i && l.text.trimEnd() === beginLine(sourceId));
    let j = lines.findIndex((l, k) => k > i && l.text.trimEnd() === endLine(sourceId));
    const terminated = j >= 0 && (nextBegin < 0 || j < nextBegin);
    if (!terminated) {
      // END was deleted by hand: the block ends at the first line that is not ours.
      j = i + 1;
      while (j < lines.length && ownsLine(lines[j]!.text)) j++;
    }
    const last = terminated ? j : j - 1;
    blocks.push({
      sourceId,
      start: lines[i]!.start,
      end: last >= i ? lines[last]!.end : lines[i]!.end,
      body: lines.slice(i + 1, terminated ? j : j).map((l) => l.text),
      terminated,
    });
    i = terminated ? j : j - 1;
  }
  return blocks;
}

/** Inventory entries of a crontab text; keys name the user and the job or line number. */
export function parseCrontab(text: string, user: string, sourceId: string): InstalledEntry[] {
  const out: InstalledEntry[] = [];
  const blocks = findBlocks(text);
  for (const b of blocks) {
    const { entries } = parseEntries(b.body);
    for (const e of entries) {
      const d = describeEntry(e, b.body);
      const ours = b.sourceId === sourceId && e.marker.marker.sourceId === sourceId;
      out.push({ key: `crontab:${user}:${e.marker.marker.jobId}`, marker: e.marker.marker, paused: d.paused, drifted: ours && d.drifted, raw: d.raw });
    }
  }
  const lines = splitLines(text);
  lines.forEach((l, i) => {
    if (blocks.some((b) => l.start >= b.start && l.start < b.end)) return;
    const t = l.text.trim();
    const marker = decodeMarker(l.text);
    if (marker) {
      out.push({ key: `crontab:${user}:line:${i + 1}`, marker: marker.marker, paused: false, drifted: false, raw: l.text });
      return;
    }
    if (t === '' || t.startsWith('#') || /^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(t)) return;
    out.push({ key: `crontab:${user}:line:${i + 1}`, marker: null, paused: false, drifted: false, raw: l.text });
  });
  return out;
}

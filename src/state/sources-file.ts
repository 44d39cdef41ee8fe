/**
 * The format of `<stateDir>/sources.json`, every source id this agent has applied (what the
 * record means, and how a sync updates it, is in src/reconcile/sources.ts):
 *
 *     { "version": 1, "current": "<id>", "previous": ["<id>", …] }
 */

/** File name inside the state dir. */
export const SOURCES_FILE = 'sources.json';

/** The source ids an agent has applied. */
export interface SourcesRecord {
  current: string;
  /** Earlier ids whose entries may still be installed, sorted. */
  previous: string[];
}

/** What reading the record found: null when there is none; `damaged` when a file exists but is no record. */
export interface SourcesRead {
  record: SourcesRecord | null;
  damaged: boolean;
}

/** Parses the file; null when it is missing or not a valid record. Never throws. */
export function parseSources(text: string | null): SourcesRecord | null {
  if (text === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const ok = (x: unknown): x is string => typeof x === 'string' && x !== '';
  if (!ok(o.current) || !Array.isArray(o.previous) || !o.previous.every(ok)) return null;
  return { current: o.current, previous: normalizeSourceIds(o.current, o.previous) };
}

/** The file's text (canonical, so equal records give equal bytes). */
export function serializeSources(r: SourcesRecord): string {
  return `${JSON.stringify({ version: 1, current: r.current, previous: normalizeSourceIds(r.current, r.previous) }, null, 2)}\n`;
}

/** The distinct ids of `ids` other than `current` and the empty string, sorted. */
export function normalizeSourceIds(current: string, ids: readonly string[]): string[] {
  return [...new Set(ids)].filter((id) => id !== '' && id !== current).sort();
}

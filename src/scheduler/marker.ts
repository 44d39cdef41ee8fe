/**
 * The provenance marker written as a comment line above each scheduler entry (SPEC §4), so
 * the inventory can be rebuilt from the scheduler alone:
 *
 *     # cronsync:v1 {"source":"…","job":"acme/backup","commit":"…","path":"jobs/a.yaml","index":0,"hash":"…","url":"https://…","ref":"main","applied":"2026-12-07T10:00:00.000Z","entry":"…"}
 *
 * The JSON is one line (JSON escapes newlines). `url` (credentials stripped), `ref` and `applied`
 * (when this version of the job was first applied) complete the record SPEC §4 lists; markers
 * written before them still decode, without them. `entry` is a short hash of the entry lines
 * that follow, so a hand edit is visible without the job. decode never throws: any hand-edited
 * or garbled marker is simply not a marker (null).
 */
import { createHash } from 'node:crypto';
import { stripUrlCredentials } from '../errors.js';
import type { DesiredJob } from '../desired/types.js';
import type { JobId } from '../manifest/types.js';
import type { Marker } from '../plan/types.js';

/** The prefix every marker line starts with. */
export const MARKER_PREFIX = '# cronsync:v1 ';

/** A decoded marker line: the provenance plus the hash of the entry text it covers. */
export interface MarkerLine {
  marker: Marker;
  /** Hash of the entry lines as written (see {@link entryHash}); null when absent. */
  entryHash: string | null;
}

const JOB_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A short, stable hash of entry text (sha256, first 16 hex). */
export function entryHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Encodes a marker as one comment line (no trailing newline). */
export function encodeMarker(marker: Marker, entry?: string): string {
  const body: Record<string, unknown> = {
    source: marker.sourceId,
    job: marker.jobId,
    commit: marker.commit,
    path: marker.path,
    index: marker.index,
    hash: marker.manifestHash,
  };
  if (marker.url !== undefined) body.url = marker.url;
  if (marker.ref !== undefined) body.ref = marker.ref;
  if (marker.appliedAt !== undefined) body.applied = marker.appliedAt;
  if (entry !== undefined) body.entry = entryHash(entry);
  // U+2028/2029 are valid in JSON but would read as line breaks to some editors.
  return MARKER_PREFIX + JSON.stringify(body).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Decodes a marker line; null for anything that is not an intact marker. Never throws. */
export function decodeMarker(line: string): MarkerLine | null {
  const text = line.replace(/\r$/, '');
  if (!text.startsWith(MARKER_PREFIX)) return null;
  let v: unknown;
  try {
    v = JSON.parse(text.slice(MARKER_PREFIX.length));
  } catch {
    return null;
  }
  const marker = decodeMarkerFields(v);
  if (!marker) return null;
  const entry = (v as Record<string, unknown>).entry;
  if (!(entry === undefined || typeof entry === 'string')) return null;
  return { marker, entryHash: typeof entry === 'string' ? entry : null };
}

/**
 * Decodes the marker fields (`source`, `job`, `commit`, `path`, `index`, `hash`, and the optional
 * `url`, `ref` and `applied`) of parsed JSON; null when any is missing or malformed. Shared by
 * every adapter's record format.
 */
export function decodeMarkerFields(v: unknown): Marker | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const str = (x: unknown): x is string => typeof x === 'string';
  if (!str(o.source) || o.source === '' || !str(o.job) || !JOB_ID.test(o.job) || !str(o.path) || !str(o.hash)) return null;
  if (!(o.commit === null || str(o.commit))) return null;
  if (typeof o.index !== 'number' || !Number.isInteger(o.index) || o.index < 0) return null;
  // The informational fields are left out when malformed: the entry stays ours (its raw text then
  // differs from what would be written, so the next sync writes it again).
  return {
    sourceId: o.source, jobId: o.job as JobId, commit: o.commit as string | null, path: o.path, index: o.index, manifestHash: o.hash,
    ...(str(o.url) ? { url: o.url } : {}),
    ...(str(o.ref) ? { ref: o.ref } : {}),
    ...(str(o.applied) && isMarkerTime(o.applied) ? { appliedAt: o.applied } : {}),
  };
}

/** Whether `t` is an applied time a marker holds: ISO 8601 UTC as Date#toISOString writes it (years 0000-9999). */
export function isMarkerTime(t: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(t);
}

/**
 * The marker of a desired job: with when it was applied when `d` says (`withApplied`, default
 * true). A job rendered without `appliedAt` (`cronsync render`) has a marker without it.
 */
export function markerOf(d: DesiredJob, sourceId: string, withApplied = true): Marker {
  return {
    sourceId,
    jobId: d.id,
    commit: d.provenance.commit,
    path: d.provenance.path,
    index: d.provenance.index,
    manifestHash: d.manifestHash,
    url: stripUrlCredentials(d.provenance.url),
    ref: d.provenance.ref,
    ...(withApplied && d.appliedAt !== undefined ? { appliedAt: d.appliedAt } : {}),
  };
}

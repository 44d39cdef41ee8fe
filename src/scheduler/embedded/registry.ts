/**
 * The embedded scheduler's registry (pure): the "installed entries" of the in-process
 * scheduler, persisted as `<stateDir>/embedded.json` so the inventory survives a restart.
 *
 * Each job is one line of canonical JSON (fixed key order), the same text that inventory()
 * reports as `raw` and renderEntry() returns, so the planner's drift check is a string compare:
 *
 *     {
 *       "version": 1,
 *       "jobs": [
 *         {"source":"…","job":"acme/backup","commit":"…","path":"jobs/a.yaml","index":0,"hash":"…","url":"…","ref":"main","applied":"…","schedule":"0 2 * * *","timezone":"UTC","paused":false}
 *       ]
 *     }
 *
 * No secrets: the command, env and check-in settings stay in the job snapshot that the shim reads.
 */
import type { DesiredJob } from '../../desired/types.js';
import type { InstalledEntry, Marker } from '../../plan/types.js';
import { decodeMarkerFields, markerOf } from '../marker.js';

/** File name of the registry inside the state dir. */
export const REGISTRY_FILE = 'embedded.json';
/** Format version written into the registry. */
export const REGISTRY_VERSION = 1;

/** One installed embedded job: its provenance marker plus what the timer needs. */
export interface EmbeddedRecord extends Marker {
  schedule: string;
  timezone: string;
  paused: boolean;
}

/** The outcome of {@link parseRegistry}: the records kept, and why any were dropped. */
export interface ParsedRegistry {
  records: EmbeddedRecord[];
  /** Human-readable problems (unparsable file, malformed or duplicate records). */
  problems: string[];
}

/** The record of a desired job as this agent (`sourceId`) installs it. */
export function recordOf(d: DesiredJob, sourceId: string): EmbeddedRecord {
  return {
    ...markerOf(d, sourceId),
    schedule: d.job.spec.schedule,
    timezone: d.job.spec.timezone,
    paused: d.job.spec.paused,
  };
}

/** The canonical one-line JSON of a record (fixed key order, no whitespace). */
export function recordLine(r: EmbeddedRecord): string {
  return JSON.stringify({
    source: r.sourceId,
    job: r.jobId,
    commit: r.commit,
    path: r.path,
    index: r.index,
    hash: r.manifestHash,
    // Absent (undefined, so left out) in records of earlier versions and jobs rendered without them.
    url: r.url,
    ref: r.ref,
    applied: r.appliedAt,
    schedule: r.schedule,
    timezone: r.timezone,
    paused: r.paused,
  });
}

/** Identity of a record in the registry and in the inventory: `embedded:<source>:<job>`. */
export function recordKey(r: Pick<EmbeddedRecord, 'sourceId' | 'jobId'>): string {
  return `embedded:${r.sourceId}:${r.jobId}`;
}

/** Orders records by job id, then source id, so the file is deterministic. */
export function sortRecords(records: readonly EmbeddedRecord[]): EmbeddedRecord[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...records].sort((a, b) => cmp(a.jobId, b.jobId) || cmp(a.sourceId, b.sourceId));
}

/**
 * The registry file's text for a set of records (sorted; one record per line). `line` gives a
 * record's line; default: {@link recordLine}.
 */
export function serializeRegistry(records: readonly EmbeddedRecord[], line: (r: EmbeddedRecord) => string = recordLine): string {
  const lines = sortRecords(records).map((r) => line(r));
  const jobs = lines.length === 0 ? '[]' : `[\n    ${lines.join(',\n    ')}\n  ]`;
  return `{\n  "version": ${REGISTRY_VERSION},\n  "jobs": ${jobs}\n}\n`;
}

/** Decodes one record from parsed JSON; null when any field is missing or malformed. */
export function decodeRecord(v: unknown): EmbeddedRecord | null {
  const marker = decodeMarkerFields(v);
  if (!marker) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.schedule !== 'string' || typeof o.timezone !== 'string' || typeof o.paused !== 'boolean') return null;
  return { ...marker, schedule: o.schedule, timezone: o.timezone, paused: o.paused };
}

/** Parses a record from its canonical line (an inventory `raw`); null when malformed. */
export function parseRecordLine(line: string): EmbeddedRecord | null {
  try {
    return decodeRecord(JSON.parse(line));
  } catch {
    return null;
  }
}

/**
 * Parses the registry text. Never throws: the registry is cronsync's own file, so an
 * unparsable file reads as empty and malformed or duplicate records are dropped, each with a
 * problem the caller logs; the next apply rewrites the file from the plan.
 */
export function parseRegistry(text: string | null): ParsedRegistry {
  if (text === null) return { records: [], problems: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { records: [], problems: [`registry is not valid JSON (${(err as Error).message}); treated as empty`] };
  }
  const jobs = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).jobs : undefined;
  if (!Array.isArray(jobs)) return { records: [], problems: ['registry has no "jobs" array; treated as empty'] };
  const version = (doc as Record<string, unknown>).version;
  const problems: string[] = version === REGISTRY_VERSION ? [] : [`registry version ${String(version)} is not ${REGISTRY_VERSION}; reading it anyway`];
  const seen = new Set<string>();
  const records: EmbeddedRecord[] = [];
  jobs.forEach((v, i) => {
    const r = decodeRecord(v);
    if (!r) {
      problems.push(`registry record ${i} is malformed; dropped`);
    } else if (seen.has(recordKey(r))) {
      problems.push(`registry record ${i} duplicates ${r.jobId}; dropped`);
    } else {
      seen.add(recordKey(r));
      records.push(r);
    }
  });
  return { records, problems };
}

/** The inventory entry of a record: ours when `sourceId` matches, another source's otherwise. */
export function entryOfRecord(r: EmbeddedRecord): InstalledEntry {
  const { schedule: _s, timezone: _t, paused, ...marker } = r;
  return { key: recordKey(r), marker, paused, drifted: false, raw: recordLine(r) };
}

/**
 * `<stateDir>/sources.json`: every source id this agent has applied. The source id hashes
 * `source.url`, `ref`, `paths` and `exclude`, so editing the config gives it a new one; the
 * entries installed under the old id are still this agent's, and the planner moves them to the
 * new id. Entries of an id never recorded here stay foreign.
 *
 *     { "version": 1, "current": "<id>", "previous": ["<id>", …] }
 *
 * `previous` lists the ids that may still have entries installed; an id is forgotten once a
 * sync leaves nothing installed under it.
 */
import { join } from 'node:path';
import type { DesiredJob } from '../desired/types.js';
import type { JobId } from '../manifest/types.js';
import type { Plan } from '../plan/types.js';
import { atomicWriteFile, readFileIfExists } from '../system/files.js';

/** File name inside the state dir. */
export const SOURCES_FILE = 'sources.json';

/** The source ids an agent has applied. */
export interface SourcesRecord {
  current: string;
  /** Earlier ids whose entries may still be installed, sorted. */
  previous: string[];
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
  return { current: o.current, previous: normalize(o.current, o.previous) };
}

/** The file's text (canonical, so equal records give equal bytes). */
export function serializeSources(r: SourcesRecord): string {
  return `${JSON.stringify({ version: 1, current: r.current, previous: normalize(r.current, r.previous) }, null, 2)}\n`;
}

/** True when two records say the same. */
export function sameSources(a: SourcesRecord | null | undefined, b: SourcesRecord): boolean {
  return a ? serializeSources(a) === serializeSources(b) : false;
}

/**
 * The earlier source ids whose entries are this agent's, for the planner. Without a record
 * (state dir from before sources.json, or a damaged file), the ids in the job snapshots are
 * used: they were written by this agent when it applied those jobs.
 */
export function previousSourceIds(record: SourcesRecord | null, current: string, applied: ReadonlyMap<JobId, DesiredJob>): string[] {
  const ids = record ? [record.current, ...record.previous] : [...applied.values()].map((d) => d.provenance.sourceId);
  return normalize(current, ids);
}

/** The record written before an apply: the current id, and every id that may still have entries. */
export function recordBeforeApply(plan: Pick<Plan, 'sourceId' | 'ownedSourceIds'>): SourcesRecord {
  return { current: plan.sourceId, previous: normalize(plan.sourceId, plan.ownedSourceIds ?? []) };
}

/**
 * The record after a successful apply: earlier ids are kept only while entries of them remain
 * installed (entries copied through unchanged, `plan.preserve`).
 */
export function recordAfterApply(plan: Pick<Plan, 'sourceId' | 'ownedSourceIds' | 'preserve'>): SourcesRecord {
  const owned = new Set(plan.ownedSourceIds ?? []);
  const left = plan.preserve.flatMap((e) => (e.marker && owned.has(e.marker.sourceId) ? [e.marker.sourceId] : []));
  return { current: plan.sourceId, previous: normalize(plan.sourceId, left) };
}

/** Reads the record of a state dir. @throws {IoError} when it exists but cannot be read. */
export async function readSources(stateDir: string): Promise<{ record: SourcesRecord | null; damaged: boolean }> {
  const text = await readFileIfExists(join(stateDir, SOURCES_FILE));
  const record = parseSources(text);
  return { record, damaged: text !== null && record === null };
}

/** Writes the record atomically (no secrets in it: readable like the status file). @throws {IoError} */
export async function writeSources(stateDir: string, record: SourcesRecord): Promise<void> {
  await atomicWriteFile(join(stateDir, SOURCES_FILE), serializeSources(record), 0o644);
}

function normalize(current: string, ids: readonly string[]): string[] {
  return [...new Set(ids)].filter((id) => id !== '' && id !== current).sort();
}

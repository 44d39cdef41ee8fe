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
import type { DesiredJob } from '../desired/types.js';
import type { JobId } from '../manifest/types.js';
import type { Plan } from '../plan/types.js';
import { createFsStateStore } from '../state/fs-store.js';
import { normalizeSourceIds as normalize, serializeSources } from '../state/sources-file.js';
import type { SourcesRead, SourcesRecord } from '../state/sources-file.js';

export { SOURCES_FILE, parseSources, serializeSources } from '../state/sources-file.js';
export type { SourcesRecord } from '../state/sources-file.js';

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
 * installed: entries copied through unchanged (`plan.preserve`), or `elsewhere`, the ids of
 * this agent's entries in a scheduler it no longer uses (left by a change of `scheduler.kind`
 * made in the same edit as a change of source id): forgetting them would make those entries
 * foreign, no longer reported nor removable with `prune --scheduler`.
 */
export function recordAfterApply(plan: Pick<Plan, 'sourceId' | 'ownedSourceIds' | 'preserve'>, elsewhere: Iterable<string> = []): SourcesRecord {
  const owned = new Set(plan.ownedSourceIds ?? []);
  const left = [...plan.preserve.flatMap((e) => (e.marker ? [e.marker.sourceId] : [])), ...elsewhere].filter((id) => owned.has(id));
  return { current: plan.sourceId, previous: normalize(plan.sourceId, left) };
}

/** Reads the record of a state dir (through its StateStore). @throws {IoError} when it exists but cannot be read. */
export async function readSources(stateDir: string): Promise<SourcesRead> {
  return createFsStateStore(stateDir).readSources();
}

/** Writes the record durably (through the state dir's StateStore). @throws {IoError} */
export async function writeSources(stateDir: string, record: SourcesRecord): Promise<void> {
  await createFsStateStore(stateDir).writeSources(record);
}

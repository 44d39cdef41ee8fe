/**
 * Reading a job snapshot, the first thing every `cronsync exec` does: the format, the job id
 * and the synchronous read, apart from the writers in ./snapshots.ts (which re-exports this
 * module) so that `exec` loads no more than it needs.
 */
import { join } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import { NAME, jobNamespace } from '../manifest/types.js';
import type { Job, JobId, Provenance } from '../manifest/types.js';
import { batchedSnapshot } from './batch.js';
import { readFileOrNullSync } from './sync-io.js';

/** Agent settings a run needs, copied from the agent configuration at apply time. */
export interface SnapshotRuntime {
  agentId: string;
  checkin: { url?: string; protocol: 'crontopus' | 'healthchecks' | 'crontopus-agent'; start: boolean };
  secretsFile?: string;
  spool: { maxAgeDays: number; maxCount: number };
  /**
   * `scheduler.allowedUsers` as of the last sync: `exec` checks `spec.user` against it again, so
   * narrowing the list also stops installed jobs that are kept (unchanged or invalid manifests).
   * Absent in snapshots of older versions.
   */
  allowedUsers?: readonly string[] | '*';
}

/** JobSnapshot is the file format (schemaVersion 1) of one applied job. */
export interface JobSnapshot {
  schemaVersion: 1;
  job: Job;
  provenance: Provenance;
  manifestHash: string;
  /** ISO 8601 time the job was applied. */
  appliedAt: string;
  runtime: SnapshotRuntime;
}

/**
 * The namespace of a snapshot's job, for check-ins: `provenance.namespace`, or for a snapshot
 * written before it was recorded, the first directory of `provenance.path` (`default` at the root).
 */
export function snapshotNamespace(snapshot: Pick<JobSnapshot, 'provenance'>): string {
  return snapshot.provenance.namespace ?? jobNamespace(snapshot.provenance.path);
}

/** Serialises a snapshot exactly as it is stored (stable, newline-terminated). */
export function serializeJobSnapshot(snapshot: JobSnapshot): string {
  return `${JSON.stringify(snapshot, null, 2)}\n`;
}

export { NAME } from '../manifest/types.js';

/**
 * Splits and checks a job id `tenant/name`.
 * @throws {UsageError} when the id is malformed (this also rules out path traversal).
 */
export function parseJobId(id: string): { tenant: string; name: string } {
  const parts = id.split('/');
  const [tenant, name] = parts;
  if (parts.length !== 2 || !tenant || !name || !NAME.test(tenant) || !NAME.test(name) || tenant.length > 63 || name.length > 63) {
    throw new UsageError(`Invalid job id "${id}": expected tenant/name (lower-case letters, digits and dashes)`, { id });
  }
  return { tenant, name };
}

/** Path of the snapshot of job `id` in `stateDir`. @throws {UsageError} on a malformed id. */
export function jobSnapshotPath(stateDir: string, id: JobId | string): string {
  const { tenant, name } = parseJobId(id);
  return join(stateDir, 'jobs', tenant, `${name}.json`);
}

/**
 * Reads the snapshot of job `id`, or null when there is none. When the job's own file is missing
 * or cannot be a complete snapshot of this job, the pending snapshot batch (./batch.ts) stands in
 * for it, unless the snapshot was deleted since: a snapshot renamed into place without fsync may
 * not have survived a power loss.
 * @throws {ConfigError} when the file is not a valid schemaVersion 1 snapshot (and no batch has one).
 * @throws {UsageError} on a malformed id. @throws {IoError} when unreadable.
 */
export async function readJobSnapshot(stateDir: string, id: JobId | string): Promise<JobSnapshot | null> {
  return readSnapshotFrom(stateDir, id, (rel) => readFileOrNullSync(join(stateDir, rel)));
}

/**
 * {@link readJobSnapshot} over any reader of state-dir files by relative path (the in-memory
 * state store shares it). @throws {ConfigError} @throws {UsageError} @throws {IoError}
 */
export function readSnapshotFrom(stateDir: string, id: JobId | string, read: (rel: string) => string | null): JobSnapshot | null {
  const { tenant, name } = parseJobId(id);
  const rel = `jobs/${tenant}/${name}.json`;
  const path = join(stateDir, rel);
  // Sync: this is on the start-up path of every `cronsync exec`.
  const text = read(rel);
  const own = text === null ? null : parseJobSnapshot(text, path, `${tenant}/${name}`);
  if (own !== null && !(own instanceof ConfigError)) return own;
  const batched = batchedSnapshot(`${tenant}/${name}`, read);
  const fallback = batched === undefined ? null : parseJobSnapshot(batched, path, `${tenant}/${name}`);
  if (fallback !== null && !(fallback instanceof ConfigError)) return fallback;
  if (own instanceof ConfigError) throw own;
  return null;
}

/**
 * Parses the text of job `id`'s snapshot: the snapshot, or the ConfigError saying why it is
 * none (not JSON, cut short, an unsupported format, or another job's). Never throws.
 */
export function parseJobSnapshot(text: string, path: string, id: string): JobSnapshot | ConfigError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new ConfigError(`Job snapshot ${path} is not valid JSON`, { path });
  }
  const s = value as Partial<JobSnapshot> | null;
  if (!s || s.schemaVersion !== 1 || typeof s.job !== 'object' || !s.job?.spec || !s.runtime || typeof s.runtime.agentId !== 'string') {
    return new ConfigError(`Job snapshot ${path} has an unsupported format`, { path });
  }
  const m = s.job.metadata;
  if (!m || `${m.tenant}/${m.name}` !== id) return new ConfigError(`Job snapshot ${path} is not the snapshot of ${id}`, { path });
  return s as JobSnapshot;
}

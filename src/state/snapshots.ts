/**
 * Job snapshots: the job as last applied, written by the reconciler and read by
 * `cronsync exec`, at `<stateDir>/jobs/<tenant>/<name>.json` (mode 0600). The `runtime` block
 * carries the agent settings `exec` needs, so `exec` never loads the YAML configuration.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, IoError, UsageError } from '../errors.js';
import type { Job, JobId, Provenance } from '../manifest/types.js';
import { atomicWriteFile, readFileIfExists, readFileIfExistsSync, removeFile } from '../system/files.js';
import type { AtomicWriteOptions } from '../system/files.js';

/** Agent settings a run needs, copied from the agent configuration at apply time. */
export interface SnapshotRuntime {
  agentId: string;
  checkin: { url?: string; protocol: 'crontopus' | 'healthchecks'; start: boolean };
  secretsFile?: string;
  spool: { maxAgeDays: number; maxCount: number };
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

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

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

/** Serialises a snapshot exactly as it is stored (stable, newline-terminated). */
export function serializeJobSnapshot(snapshot: JobSnapshot): string {
  return `${JSON.stringify(snapshot, null, 2)}\n`;
}

/**
 * Writes the snapshot of a job atomically with mode 0600, only when its bytes differ from the
 * stored ones. Returns whether the file was written.
 * @throws {IoError} when the file cannot be written.
 */
export async function writeJobSnapshot(stateDir: string, snapshot: JobSnapshot, options: AtomicWriteOptions = {}): Promise<boolean> {
  const path = jobSnapshotPath(stateDir, `${snapshot.job.metadata.tenant}/${snapshot.job.metadata.name}`);
  const data = serializeJobSnapshot(snapshot);
  if ((await readFileIfExists(path)) === data) return false;
  await atomicWriteFile(path, data, 0o600, options);
  return true;
}

/**
 * Reads the snapshot of job `id`, or null when there is none.
 * @throws {ConfigError} when the file is not a valid schemaVersion 1 snapshot.
 * @throws {UsageError} on a malformed id. @throws {IoError} when unreadable.
 */
export async function readJobSnapshot(stateDir: string, id: JobId | string): Promise<JobSnapshot | null> {
  const path = jobSnapshotPath(stateDir, id);
  // Sync: this is on the start-up path of every `cronsync exec`.
  const text = readFileIfExistsSync(path);
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`Job snapshot ${path} is not valid JSON`, { path });
  }
  const s = value as Partial<JobSnapshot> | null;
  if (!s || s.schemaVersion !== 1 || typeof s.job !== 'object' || !s.job?.spec || !s.runtime || typeof s.runtime.agentId !== 'string') {
    throw new ConfigError(`Job snapshot ${path} has an unsupported format`, { path });
  }
  return s as JobSnapshot;
}

/** Deletes the snapshot of job `id`; returns whether it existed. @throws {IoError} */
export async function deleteJobSnapshot(stateDir: string, id: JobId | string): Promise<boolean> {
  return removeFile(jobSnapshotPath(stateDir, id));
}

/** Lists the ids of every job with a snapshot, sorted. @throws {IoError} */
export async function listJobSnapshots(stateDir: string): Promise<JobId[]> {
  const root = join(stateDir, 'jobs');
  const ids: JobId[] = [];
  for (const tenant of await readdirIfExists(root)) {
    if (!NAME.test(tenant)) continue;
    for (const file of await readdirIfExists(join(root, tenant))) {
      const name = file.endsWith('.json') ? file.slice(0, -5) : '';
      if (NAME.test(name)) ids.push(`${tenant}/${name}`);
    }
  }
  return ids.sort();
}

async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw new IoError(`Cannot list ${dir}: ${(err as Error).message}`, { path: dir }, { cause: err });
  }
}

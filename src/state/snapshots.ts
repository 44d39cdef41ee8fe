/**
 * Job snapshots: the job as last applied, written by the reconciler and read by
 * `cronsync exec`, at `<stateDir>/jobs/<tenant>/<name>.json` (mode 0600). The `runtime` block
 * carries the agent settings `exec` needs, so `exec` never loads the YAML configuration.
 * The reconciler writes them through the StateStore (./store.ts), in batches (./batch.ts); these
 * single-file helpers remain for tools and tests that prepare a state dir by hand.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ioError } from '../errors.js';
import type { JobId } from '../manifest/types.js';
import { atomicWriteFile, readFileIfExists, removeFile } from '../system/files.js';
import type { AtomicWriteOptions } from '../system/files.js';
import { NAME, jobSnapshotPath, serializeJobSnapshot } from './snapshot-read.js';
import type { JobSnapshot } from './snapshot-read.js';

export { jobSnapshotPath, parseJobId, readJobSnapshot, serializeJobSnapshot, snapshotNamespace } from './snapshot-read.js';
export type { JobSnapshot, SnapshotRuntime } from './snapshot-read.js';

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
    throw ioError('list', dir, err);
  }
}

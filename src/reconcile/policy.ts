/**
 * The run-as policy in the job snapshots after a failed sync. `exec` checks a job's `spec.user`
 * against the `scheduler.allowedUsers` its snapshot carries, as of the last sync that applied
 * (src/shim/run.ts). A config that narrows the list would otherwise reach the snapshots only
 * with the next sync that gets as far as applying: while the source is down or refused (or the
 * scheduler refused the plan and the old snapshots were restored), a job would go on running as
 * an account the agent no longer allows. So a failed sync, holding the state dir, still writes
 * the current list into the snapshots of run-as jobs that carry another one. Nothing else of a
 * snapshot changes: the job stays as last applied.
 */
import type { JobId } from '../manifest/types.js';
import { serializeJobSnapshot } from '../state/snapshot-read.js';
import type { JobSnapshot } from '../state/snapshot-read.js';
import type { ReconcilerMemory } from './steps.js';
import type { ReconcilerDeps } from './types.js';

/** Writes the config's `allowedUsers` into the snapshots of run-as jobs that carry another list; returns how many. */
export async function restampRunAsPolicy(deps: ReconcilerDeps, mem: ReconcilerMemory): Promise<number> {
  const allowed = deps.config.scheduler.allowedUsers ?? [];
  const key = JSON.stringify(allowed);
  const changed: JobSnapshot[] = [];
  for (const id of await deps.state.listSnapshots()) {
    // A snapshot that cannot be read is reported by the sync that reads it; it is left here.
    const snap = await deps.state.readSnapshot(id).catch(() => null);
    if (!snap || snap.job.spec.user === undefined) continue;
    if (snap.runtime.allowedUsers !== undefined && JSON.stringify(snap.runtime.allowedUsers) === key) continue;
    changed.push({ ...snap, runtime: { ...snap.runtime, allowedUsers: allowed } });
  }
  if (changed.length === 0) return 0;
  await deps.state.writeSnapshots(changed);
  for (const s of changed) mem.written.set(`${s.job.metadata.tenant}/${s.job.metadata.name}` as JobId, serializeJobSnapshot(s));
  deps.log.warn({ count: changed.length, allowedUsers: allowed }, 'Sync failed: scheduler.allowedUsers of the config written into the snapshots of run-as jobs, which exec checks');
  return changed.length;
}

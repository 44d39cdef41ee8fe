/** The status file `<stateDir>/status.json`, version 1 (SPEC §7). */

/** Result of a sync attempt. */
export type SyncResult = 'ok' | 'partial' | 'error';
/** State of one job in the status file. */
export type JobState = 'installed' | 'paused' | 'invalid' | 'conflict' | 'orphaned' | 'pending';
/** Outcome of one run. */
export type RunStatus = 'success' | 'failure' | 'timeout' | 'cancelled' | 'skipped';

/** The last run of a job. */
export interface LastRun { startedAt: string; status: RunStatus; exitCode: number | null; durationMs: number; attempts: number }

/** One job row. */
export interface StatusJob {
  id: string;
  path: string;
  commit: string | null;
  schedule: string;
  timezone: string;
  nextRun: string | null;
  state: JobState;
  lastRun: LastRun | null;
  /** Why the job is `invalid`: the manifest error, or why the scheduler cannot hold its entry. */
  reason?: string;
  /** Where the job came from (SPEC §4). */
  provenance?: { sourceId: string; url: string; ref: string; commit: string | null; path: string; index: number; manifestHash: string };
}

/** One problem found during the sync (manifest issues, guard, conflicts). */
export interface StatusProblem { path: string; line: number; column: number; rule: string; severity: 'error' | 'warning'; message: string }

/** StatusFile is the whole document; more fields may be added, none renamed without a new schemaVersion. */
export interface StatusFile {
  schemaVersion: 1;
  agent: { name: string; tenant: string; labels: Record<string, string>; version: string };
  scheduler: { kind: string; reason: string };
  source: { id: string; url: string; ref: string; commit: string | null; fetchedAt: string | null };
  lastAttempt: { startedAt: string; finishedAt: string; result: SyncResult; error: string | null; reason?: string | null };
  lastSuccess: { startedAt: string; finishedAt: string; commit: string | null } | null;
  counts: { desired: number; installed: number; added: number; updated: number; removed: number; unchanged: number; invalid: number; conflicts: number; orphaned: number };
  jobs: StatusJob[];
  problems: StatusProblem[];
  checkins: { spooled: number; dropped: number };
  /** Daemon facts: consecutive failures and the next attempt (absent for one-shot syncs). */
  daemon?: { consecutiveFailures: number; nextAttemptAt: string | null; intervalMs: number } | null;
}

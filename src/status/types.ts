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
  /**
   * The job's namespace: the first directory of `path`, `default` at the source root (what a
   * Crontopus backend groups jobs by). Absent from status files written by earlier versions.
   */
  namespace?: string;
  path: string;
  commit: string | null;
  schedule: string;
  timezone: string;
  nextRun: string | null;
  state: JobState;
  /**
   * The account the job's command runs as: its `spec.user`, else the agent's (null when unknown).
   * Absent from status files written by earlier versions and from rows of invalid manifests.
   */
  user?: string | null;
  lastRun: LastRun | null;
  /** Why the job is `invalid`: the manifest error, or why the scheduler cannot hold its entry. */
  reason?: string;
  /** Where the job came from (SPEC §4). */
  provenance?: { sourceId: string; url: string; ref: string; commit: string | null; path: string; index: number; manifestHash: string };
}

/**
 * The signature check of a commit (`source.verify`): `valid` (applied), or why it was refused:
 * `unsigned`, `untrusted` (not a trusted key), `invalid` (signature does not match: tampered),
 * `error` (the check could not be done).
 */
export interface StatusVerification {
  mode: 'head';
  commit: string | null;
  result: 'valid' | 'unsigned' | 'untrusted' | 'invalid' | 'error';
  /** Principal or user id and key of the signature, when one was found. */
  signer: string | null;
}

/** One problem found during the sync (manifest issues, guard, conflicts). */
export interface StatusProblem { path: string; line: number; column: number; rule: string; severity: 'error' | 'warning'; message: string }

/** StatusFile is the whole document; more fields may be added, none renamed without a new schemaVersion. */
export interface StatusFile {
  schemaVersion: 1;
  agent: { name: string; tenant: string; labels: Record<string, string>; version: string };
  scheduler: { kind: string; reason: string };
  source: {
    id: string; url: string; ref: string; commit: string | null; fetchedAt: string | null;
    /** The signature check of the last commit fetched (`source.verify.mode: head` only). */
    verification?: StatusVerification;
  };
  lastAttempt: { startedAt: string; finishedAt: string; result: SyncResult; error: string | null; reason?: string | null };
  lastSuccess: { startedAt: string; finishedAt: string; commit: string | null } | null;
  counts: { desired: number; installed: number; added: number; updated: number; removed: number; unchanged: number; invalid: number; conflicts: number; orphaned: number };
  jobs: StatusJob[];
  problems: StatusProblem[];
  checkins: { spooled: number; dropped: number };
  /** Daemon facts: consecutive failures and the next attempt (absent for one-shot syncs). */
  daemon?: { consecutiveFailures: number; nextAttemptAt: string | null; intervalMs: number } | null;
  /** The Crontopus agent API (checkin.protocol crontopus-agent), as last seen by the daemon. */
  crontopus?: StatusCrontopus | null;
}

/** The outcome of the last call of one kind to a Crontopus backend. Never holds a token. */
export interface CrontopusCall {
  at: string;
  ok: boolean;
  /** The HTTP status, when the backend answered. */
  statusCode?: number;
  /** Why it failed (`HTTP 500`, `ECONNREFUSED`, ...). */
  error?: string;
}

/** The `crontopus` block of the status file. */
export interface StatusCrontopus {
  /** How the endpoint identity came: enrolled by the daemon, or pre-provisioned in the config. */
  identity: 'enrolled' | 'provisioned';
  /** null until enrolled. */
  endpointId: number | null;
  enrollment: CrontopusCall | null;
  heartbeat: CrontopusCall | null;
  jobInstances: (CrontopusCall & { count: number }) | null;
}

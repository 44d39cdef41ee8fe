/**
 * StateStore: the one port to the state dir, the contract between the agent and the
 * `cronsync exec` shim. Job snapshots (with the snapshot batch of ./batch.ts), last runs and
 * their once-per-instant markers, the source-id record, the check-in spool, run locks and the
 * status file all go through it, and so do the privacy rules ({@link STATE_MODES}): what holds a
 * job's command or secret references is readable by the agent's user only; the status file, the
 * source-id record and last runs (no secret) by everyone.
 *
 * Two implementations behave alike (test/state/store.contract.test.ts runs the same cases on
 * both): the file system (./fs-store.ts, layout below, unchanged across versions so that an
 * older `exec` reads what a newer agent wrote) and memory (./memory-store.ts, for tests).
 *
 *     <stateDir>/jobs/<tenant>/<name>.json        job snapshot (0600)    ./snapshot-read.ts
 *     <stateDir>/jobs.batch.json                   snapshot batch (0600)  ./batch.ts
 *     <stateDir>/jobs.batch.deleted                ids deleted from it since (0600) ./batch.ts
 *     <stateDir>/runs/<tenant>/<name>.json         last run (0644)        ./runs.ts
 *     <stateDir>/runs/<tenant>/<name>/fired/…      scheduled-minute markers ./fired.ts
 *     <stateDir>/locks/<tenant>/<name>.lock        run lock               src/shim/lock.ts
 *     <stateDir>/spool/<ms>-<run_id>.json          undelivered check-in (0600) src/shim/spool-entry.ts
 *     <stateDir>/spool-dropped.jsonl               dropped check-ins (0644) ./drop-count.ts
 *     <stateDir>/spool-dropped.jsonl.1             its previous generation (rotated at 1 MiB)
 *     <stateDir>/spool-dropped.count               lines of older generations, deleted (0644)
 *     <stateDir>/spool-dropped.lock                taken while rotating it
 *     <stateDir>/sources.json                      source ids (0644)      ./sources-file.ts
 *     <stateDir>/status.json                       status (0644)          src/status/io.ts
 */
import type { JobId } from '../manifest/types.js';
import type { AcquireResult, LockHolder, LockOptions } from '../shim/lock.js';
import type { SpoolEntry } from '../shim/spool-entry.js';
import type { StatusFile } from '../status/types.js';
import type { FireClaim } from './fired.js';
import type { LastRun } from './runs.js';
import type { JobSnapshot } from './snapshot-read.js';
import type { SourcesRead, SourcesRecord } from './sources-file.js';

/** File modes of the state dir: private (the agent's user only) and public (no secret in it). */
export const STATE_MODES = { dir: 0o700, private: 0o600, public: 0o644 } as const;

/** The sync lock's file in the state dir (see StateStore.syncLock). */
export const SYNC_LOCK_FILE = 'sync.lock';

/** A lock in the state dir: a job's run lock, the spool flusher's or a sync's. */
export interface StateLock {
  /** Identifies the lock within this process (the fs store: its path). */
  readonly key: string;
  /** Tries once to take it; never throws for a held lock. */
  tryAcquire(holder: LockHolder, o?: LockOptions): Promise<AcquireResult>;
  /** The live holder, or null when it is free or its holder is gone. */
  holder(): Promise<LockHolder | null>;
}

/** One dropped check-in, as appended to the drop record. */
export interface DropRecord { at: string; jobId: string; runId: string; reason: string }

/** StateStore is the state dir of one agent (see the module comment). */
export interface StateStore {
  /** The state dir: what scheduler entries pass to `exec --state-dir`, and what messages name. */
  readonly dir: string;
  /** Creates the state dir (private) if needed. @throws {IoError} when it cannot exist. */
  prepare(): Promise<void>;

  /** Ids of every job with a snapshot file, sorted. @throws {IoError} */
  listSnapshots(): Promise<JobId[]>;
  /**
   * The snapshot of a job, or null; the pending batch stands in for a missing or damaged file.
   * @throws {ConfigError} damaged (and not in the batch). @throws {UsageError} malformed id.
   */
  readSnapshot(id: JobId | string): Promise<JobSnapshot | null>;
  /**
   * Writes snapshots as one batch: durable when it resolves (one fsync, whatever their number),
   * readable through {@link readSnapshot} at once. @throws {IoError}
   */
  writeSnapshots(snapshots: readonly JobSnapshot[]): Promise<void>;
  /** After a scheduler apply that wrote no batch: the previous batch is no longer needed. */
  settleSnapshots(): Promise<void>;
  /**
   * Before the first sync of a process: removes temp files of killed writers and replays a
   * batch left behind. Returns the number of snapshot files rewritten. @throws {IoError}
   */
  recoverSnapshots(): Promise<number>;
  /**
   * Deletes a job's snapshot: its file, and its copy in the pending batch (listed as deleted,
   * ./batch.ts), so that neither {@link readSnapshot} nor {@link hasSnapshotFile} finds it once
   * this resolves; whether it had either. @throws {IoError}
   */
  deleteSnapshot(id: JobId | string): Promise<boolean>;
  /**
   * Whether the job has a snapshot: its file exists (cheap: no read, no parse), or else the
   * pending batch has a copy, which stands in for a file a power loss took (as in readSnapshot).
   * @throws {UsageError} malformed id. @throws {IoError} when the batch cannot be read.
   */
  hasSnapshotFile(id: JobId | string): boolean;

  /** The last run of a job; null when none or unreadable. @throws {IoError} */
  readLastRun(id: JobId | string): Promise<LastRun | null>;
  /**
   * Ids of the jobs that have a last-run record, in one listing, so that a sync of thousands of
   * jobs, most never run, does not ask for each.
   * @throws {IoError}
   */
  listLastRuns(): Promise<Set<string>>;
  /** Records the last run of a job (not fsynced: informational). @throws {IoError} */
  writeLastRun(id: JobId | string, run: LastRun): Promise<void>;
  /** Deletes a job's last run and its scheduled-minute markers; whether it had a run. @throws {IoError} */
  deleteLastRun(id: JobId | string): Promise<boolean>;
  /**
   * Claims a job's scheduled minute (synchronous: on every scheduled start); a claim made more
   * than a day earlier by the host's monotonic clock (`monotonic`, by default the host's) does
   * not count (src/state/fired.ts). @throws {IoError}
   */
  claimFire(id: JobId | string, instant: Date, monotonic?: () => number): FireClaim;

  /** The source-id record. @throws {IoError} */
  readSources(): Promise<SourcesRead>;
  /** Writes the source-id record durably. @throws {IoError} */
  writeSources(record: SourcesRecord): Promise<void>;

  /** The status file, or null. @throws {CronsyncError} when it is not a version-1 status file. */
  readStatus(): Promise<StatusFile | null>;
  /** Writes the status file durably, unless its bytes are unchanged. @throws {IoError} */
  writeStatus(status: StatusFile): Promise<void>;
  /**
   * What identifies the status file as written (the fs store: device, inode, size and times),
   * or null when there is none: a reconciler that finds another stamp than the one it left
   * knows another process synced the state dir in between.
   */
  statusStamp(): Promise<string | null>;
  /** Deletes the status file (prune: nothing it lists is installed any more); whether it existed. @throws {IoError} */
  deleteStatus(): Promise<boolean>;

  /** Names of the spooled check-ins, oldest first. */
  listSpool(): Promise<string[]>;
  /**
   * A spooled check-in's text; null when gone. @throws {IoError} when unreadable; its `cause`
   * has code `ENOTREG` for a FIFO, directory or device named like an entry, `EFBIG` for a file
   * larger than an entry can be.
   */
  readSpool(name: string): Promise<string | null>;
  /** Spools a check-in (synchronous: `exec` sends right after it); returns its name. @throws {IoError} */
  writeSpool(entry: SpoolEntry, durable: boolean): string;
  /** Deletes a spooled check-in; whether it existed. @throws {IoError} */
  removeSpool(name: string): boolean;
  /**
   * Deletes the temp files of spool writes whose writer was killed between write and rename,
   * last modified before `before`; returns how many. @throws {IoError}
   */
  sweepSpool(before: Date): Promise<number>;
  /**
   * Why the spool must not be flushed, or null. A spooled entry names the URL it goes to and the
   * secret it is sent with (`${VAR}`, secrets file): an entry planted by another account would
   * have the agent send it a secret. So the spool directory must be the agent's own and writable
   * by no one else (POSIX); a directory of the agent's with looser modes is set to 0700 first.
   */
  spoolProblem(): Promise<string | null>;
  /**
   * Appends records of dropped check-ins (the fs store rotates the record, see ./drop-count.ts).
   * @throws {IoError} naming the record; its `cause.code` is the system's (ENOSPC on a full disk).
   */
  recordDropped(records: readonly DropRecord[]): Promise<void>;
  /** Counts for the status file: spooled entries, and dropped ones ever recorded (across rotations). */
  spoolStats(): Promise<{ spooled: number; dropped: number }>;

  /** The run lock of a job. @throws {UsageError} on a malformed id. */
  jobLock(id: JobId | string): StateLock;
  /** The lock of the spool flusher (one at a time). */
  flushLock(): StateLock;
  /** The lock of a sync (one at a time writes the state dir and the scheduler): `sync.lock`. */
  syncLock(): StateLock;
}

/** Types the reconciler's steps share. */
import type { AgentConfig } from '../config/types.js';
import type { Selection } from '../desired/select.js';
import type { DesiredJob } from '../desired/types.js';
import type { LoadResult } from '../manifest/load.js';
import type { JobId } from '../manifest/types.js';
import type { PlanResult } from '../plan/plan.js';
import type { InstalledEntry } from '../plan/types.js';
import type { Elsewhere, FindElsewhere } from '../scheduler/elsewhere.js';
import type { ApplyResult, SchedulerAdapter } from '../scheduler/types.js';
import type { HeldLock } from '../shim/lock.js';
import type { Snapshot, Source } from '../source/types.js';
import type { StateStore } from '../state/store.js';
import type { Clock } from '../system/clock.js';
import type { Reason } from './reasons.js';

/** The reconciler reads manifests through the source port of src/source (STYLE §2). */
export type ReconcileSnapshot = Snapshot;
/** A source as the reconciler calls it. */
export type ReconcileSource = Source;

/** Minimal structured logger (pino-compatible). */
export interface ReconcileLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Ports and settings of a reconciler. */
export interface ReconcilerDeps {
  config: AgentConfig;
  source: ReconcileSource;
  adapter: SchedulerAdapter;
  scheduler: { kind: string; reason: string };
  clock: Clock;
  log: ReconcileLog;
  /** The state dir (snapshots, source ids, last runs, status file), at `config.stateDir`. */
  state: StateStore;
  /** PATH lookup for the command-not-found warning; absent: skipped. */
  commandExists?: (name: string) => boolean;
  /** Spool counters for the status file. */
  checkinStats?: () => Promise<{ spooled: number; dropped: number }>;
  /** Finds this agent's entries in the schedulers it does not use; absent: not looked for. */
  findElsewhere?: FindElsewhere;
  /** Facts the daemon adds to the status file, given the result of the attempt being summarised. */
  daemonFacts?: (result: 'ok' | 'partial' | 'error') => { consecutiveFailures: number; nextAttemptAt: string | null; intervalMs: number } | null;
}

/** Options of one reconcile. */
export interface ReconcileOptions { force?: boolean; dryRun?: boolean; signal?: AbortSignal }

/** Facts recorded by the steps; only `summarize` turns them into results and job states. */
export interface SyncContext {
  startedAt: Date;
  force: boolean;
  dryRun: boolean;
  signal: AbortSignal;
  snapshot?: ReconcileSnapshot;
  load?: LoadResult;
  selection?: Selection;
  installed?: InstalledEntry[];
  applied?: Map<JobId, DesiredJob>;
  /** When each job's version was first applied, as the plan rendered its entry (steps.ts appliedTimes). */
  appliedAt?: (d: DesiredJob) => string;
  planned?: PlanResult;
  applyResult?: ApplyResult;
  error?: Error;
  reason?: Reason;
  /**
   * Why `secretsFile` cannot serve the jobs' runs (unsafe mode, not a regular file, unreadable),
   * found at sync time rather than when a job first fires.
   */
  secretsFileProblem?: string;
  /**
   * This agent's entries in schedulers other than the one in use (after a change of
   * `scheduler.kind`), as last found; reported, never touched.
   */
  elsewhere?: Elsewhere[];
  /** The state dir's sync lock, held from step 0b until the status file is written. */
  syncLock?: HeldLock;
  /** The sync lock was not taken (held throughout, cancelled, an I/O error): this attempt writes no status file. */
  stateDirBusy?: boolean;
}

/** What one reconcile did. */
export interface SyncOutcome {
  result: 'ok' | 'partial' | 'error';
  context: SyncContext;
  /** True when the sync changed (or, in a dry run, would change) anything. */
  changes: boolean;
}

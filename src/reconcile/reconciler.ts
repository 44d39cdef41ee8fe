/**
 * The reconciler: runs the steps in order, stops at the first error, and always summarises
 * (flux's deferred SummarizeAndPatch). One instance keeps caches between syncs.
 */
import { isCronsyncError } from '../errors.js';
import { createFsStateStore } from '../state/fs-store.js';
import type { StatusFile } from '../status/types.js';
import { releaseStateDir, rememberStatus } from './lock.js';
import { restampRunAsPolicy } from './policy.js';
import { Reasons } from './reasons.js';
import { elsewhereStep, STEPS } from './steps.js';
import type { ReconcilerMemory } from './steps.js';
import { summarize, syncResult } from './summarize.js';
import type { ReconcileOptions, ReconcilerDeps, SyncContext, SyncOutcome } from './types.js';

/** A reconciler bound to one config, source and adapter. */
export interface Reconciler {
  /** Runs one sync (or a dry run) and writes the status file; never throws. */
  reconcile(opts?: ReconcileOptions): Promise<SyncOutcome & { status: StatusFile }>;
  /**
   * Takes the status file as it is now for one this reconciler wrote: this process changed it
   * outside a sync (the daemon's Crontopus block), so the next sync must not take it for
   * another process's (src/reconcile/lock.ts). `before` is its stamp (StateStore.statusStamp)
   * read before that change: when it is not the one this reconciler left, another process
   * synced meanwhile, and the next sync must still read the state dir afresh.
   */
  statusWritten(before: string | null): Promise<void>;
  /**
   * How many entries each per-job record it keeps between syncs holds (snapshots written, what
   * they were built from, last applied versions, rendered entries, cached manifest files): each
   * is bounded by the jobs and files of the last syncs, never by every job ever seen.
   */
  memorySizes(): MemorySizes;
}

/** The sizes {@link Reconciler.memorySizes} reports. */
export interface MemorySizes { written: number; writtenFrom: number; applied: number; rendered: number; files: number }

/** The ports of {@link createReconciler}; without `state`, the file-system store of `config.stateDir`. */
export type ReconcilerPorts = Omit<ReconcilerDeps, 'state'> & { state?: ReconcilerDeps['state'] };

/** Creates a reconciler from its ports. */
export function createReconciler(ports: ReconcilerPorts): Reconciler {
  const deps: ReconcilerDeps = { ...ports, state: ports.state ?? createFsStateStore(ports.config.stateDir) };
  const mem: ReconcilerMemory = { cache: new Map(), written: new Map() };
  let running = false;
  return {
    async statusWritten(before) {
      if (mem.statusStamp !== undefined && before === mem.statusStamp) await rememberStatus(deps, mem);
    },
    memorySizes: () => ({ written: mem.written.size, writtenFrom: mem.writtenFrom?.size ?? 0, applied: mem.applied?.size ?? 0, rendered: mem.rendered?.size ?? 0, files: mem.cache.size }),
    async reconcile(opts = {}) {
      if (running) throw new Error('reconcile() called while a sync is running');
      running = true;
      const ctx: SyncContext = { startedAt: deps.clock.now(), force: opts.force ?? false, dryRun: opts.dryRun ?? false, signal: opts.signal ?? new AbortController().signal, elsewhere: mem.elsewhere };
      try {
        for (const step of STEPS) {
          if (ctx.signal.aborted) throw abortedError(ctx);
          await step(ctx, deps, mem);
        }
        if (!ctx.dryRun && ctx.snapshot) mem.snapshot = ctx.snapshot;
      } catch (err) {
        ctx.error = err instanceof Error ? err : new Error(String(err));
        if (timedOut(ctx) && ctx.reason !== Reasons.SyncTimedOut) {
          // A step stopped by the timeout's abort: its own words follow the timeout's.
          ctx.reason = Reasons.SyncTimedOut;
          ctx.error = new Error(`${timeoutMessage(ctx)}: ${ctx.error.message}`, { cause: err });
        }
        if (!isCronsyncError(err) && ctx.reason !== Reasons.Cancelled && ctx.reason !== Reasons.SyncTimedOut) ctx.reason ??= Reasons.Internal;
        // A failed apply may have left the scheduler half-written: re-read everything next time.
        mem.applied = undefined;
        mem.sources = undefined;
        // A dry run (diff) stopped only by the removal guard has done its job: the plan is whole.
        const planOnly = ctx.dryRun && ctx.reason === Reasons.RemovalGuardTripped;
        deps.log[planOnly ? 'info' : 'error']({ err: { code: (err as { code?: string }).code, message: ctx.error.message }, reason: ctx.reason }, planOnly ? 'Dry run: sync would stop at the removal guard' : 'Sync failed');
        // The guard stopped the steps before the look at other schedulers, which is read only:
        // diff still reports this agent's entries there. An abort during it leaves the result.
        if (planOnly) await elsewhereStep(ctx, deps, mem).catch(() => undefined);
        // A narrowed run-as policy must not wait for a sync that applies (./policy.ts).
        if (!ctx.dryRun && ctx.syncLock) {
          await restampRunAsPolicy(deps, mem).catch((policyErr: unknown) => {
            deps.log.error({ err: { message: (policyErr as Error).message } }, 'Cannot write scheduler.allowedUsers into the job snapshots');
          });
        }
      } finally {
        running = false;
      }
      let status: StatusFile;
      try {
        status = await summarize(ctx, deps);
        if (!ctx.dryRun && ctx.syncLock) await rememberStatus(deps, mem);
      } finally {
        await releaseStateDir(ctx.syncLock);
      }
      const p = ctx.planned?.plan;
      const changes = Boolean(p && (p.add.length || p.update.length || p.remove.length));
      return { result: syncResult(ctx), context: ctx, changes, status };
    },
  };
}

/** True when the sync's signal was aborted by the daemon's `daemon.syncTimeout` (a TimeoutError reason). */
function timedOut(ctx: SyncContext): boolean {
  const why: unknown = ctx.signal.aborted ? ctx.signal.reason : undefined;
  return why instanceof Error && why.name === 'TimeoutError';
}

/** "sync timed out after 600 s (daemon.syncTimeout)". */
function timeoutMessage(ctx: SyncContext): string {
  return `${(ctx.signal.reason as Error).message} (daemon.syncTimeout)`;
}

/** The error of a sync stopped between steps: timed out, or cancelled (a stop). Sets the reason. */
function abortedError(ctx: SyncContext): Error {
  if (timedOut(ctx)) {
    ctx.reason = Reasons.SyncTimedOut;
    return new Error(timeoutMessage(ctx));
  }
  ctx.reason = Reasons.Cancelled;
  return new Error('sync cancelled');
}

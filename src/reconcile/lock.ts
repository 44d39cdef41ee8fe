/**
 * One sync at a time per state dir. A daemon and a `cronsync sync` run by hand, or two syncs
 * started together, would otherwise write the same snapshots, scheduler entries and status file
 * at once, and each would take the other's temp files and snapshot batch for a killed sync's.
 *
 * The lock is `<stateDir>/sync.lock` (the run locks' protocol, src/shim/lock.ts): a holder that
 * died (kill -9) is taken over, a live one is waited for. When the status file is then not the
 * one this reconciler wrote last, another process synced in between, and what the reconciler
 * remembers of the state dir (snapshots written, last applied versions, recovery done) is
 * dropped, so that the sync works from what is on disk.
 */
import { CronsyncError } from '../errors.js';
import { selfIdentity } from '../shim/lock.js';
import type { HeldLock } from '../shim/lock.js';
import { Reasons } from './reasons.js';
import type { ReconcilerMemory, Step } from './steps.js';
import type { ReconcilerDeps } from './types.js';

/** How long a sync waits for another one to end before it gives up (the status is not written). */
export const SYNC_LOCK_WAIT_MS = 60_000;
/** Between two tries of a held lock. */
const RETRY_MS = 250;

/** The state dir is held by another live sync for longer than {@link SYNC_LOCK_WAIT_MS}. */
export class StateDirBusyError extends CronsyncError {
  static override readonly code = 'CRONSYNC_IO' as const;
  constructor(message: string, data: Record<string, unknown>) {
    super(StateDirBusyError.code, message, data);
  }
}

/**
 * Step 0b: takes the sync lock (waiting for another sync), and drops the memory of the state
 * dir when another process synced since this reconciler's last status. The reconciler releases
 * the lock once the status file is written.
 */
export const lockStateDir: Step = async (ctx, deps, mem) => {
  try {
    const got = await acquireSyncLock(deps, ctx.startedAt, ctx.signal);
    ctx.syncLock = got.lock;
    if (got.tookOver) {
      // A sync that was killed may have written snapshots and entries this reconciler does not know.
      deps.log.info({}, 'Took over the sync lock of a sync that ended without releasing it; reading the state dir afresh');
      forgetStateDir(mem);
      return;
    }
  } catch (err) {
    // Without the lock this attempt writes nothing, its status file included: the state dir may
    // be another sync's right now.
    ctx.stateDirBusy = true;
    ctx.reason = err instanceof StateDirBusyError ? Reasons.StateDirBusy : ctx.signal.aborted ? Reasons.Cancelled : Reasons.StateDirFailed;
    throw err;
  }
  if (mem.statusStamp !== undefined && (await deps.state.statusStamp()) !== mem.statusStamp) {
    deps.log.info({}, 'Another process synced the state dir; reading it afresh');
    forgetStateDir(mem);
  }
};

/**
 * Takes the sync lock of `deps.state`, waiting for a live holder up to {@link SYNC_LOCK_WAIT_MS}
 * (a dead one is taken over). Also for commands that change the state dir outside a sync (prune).
 * @throws {StateDirBusyError} when the holder kept it all that time.
 */
export async function acquireSyncLock(deps: Pick<ReconcilerDeps, 'state' | 'clock' | 'log'>, startedAt: Date, signal?: AbortSignal): Promise<{ lock: HeldLock; tookOver: boolean }> {
  const lock = deps.state.syncLock();
  const deadline = deps.clock.now().getTime() + SYNC_LOCK_WAIT_MS;
  let tookOver = false;
  // 'judged': a record was found stale, its holder gone (a sync killed mid-way).
  const onStep = (step: string): void => void (step === 'judged' && (tookOver = true));
  for (let waited = false; ; waited = true) {
    const got = await lock.tryAcquire({ ...selfIdentity(), runId: 'sync', startedAt: startedAt.toISOString() }, { onStep });
    if (got.acquired) return { lock: got.lock, tookOver };
    const h = got.holder;
    if (!waited) deps.log.info({ holderPid: h?.pid, holderStartedAt: h?.startedAt }, 'Another sync holds the state dir; waiting for it');
    if (deps.clock.now().getTime() + RETRY_MS > deadline) {
      throw new StateDirBusyError(`Another sync holds the state dir ${deps.state.dir}${h ? ` (pid ${h.pid}, since ${h.startedAt})` : ''}; gave up after waiting ${SYNC_LOCK_WAIT_MS / 1000} s`, { pid: h?.pid });
    }
    await deps.clock.sleep(RETRY_MS, signal);
  }
}

/** Releases the sync lock (best effort: a lock left behind is taken over as its holder's is gone). */
export async function releaseStateDir(lock: HeldLock | undefined): Promise<void> {
  await lock?.release().catch(() => undefined);
}

/** Records the status this reconciler wrote, to tell another process's sync by it later. */
export async function rememberStatus(deps: ReconcilerDeps, mem: ReconcilerMemory): Promise<void> {
  mem.statusStamp = (await deps.state.statusStamp().catch(() => null)) ?? undefined;
}

/** Drops everything the reconciler remembers of the state dir and the scheduler. */
function forgetStateDir(mem: ReconcilerMemory): void {
  mem.snapshot = undefined;
  mem.applied = undefined;
  mem.writtenFrom = undefined;
  mem.written.clear();
  mem.recovered = undefined;
  mem.batchPending = undefined;
  mem.replayed = undefined;
  mem.rendered = undefined;
  mem.renderedOn = undefined;
  mem.sources = undefined;
  mem.selected = undefined;
}

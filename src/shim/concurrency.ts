/**
 * `spec.concurrency`: Allow (no lock), Forbid (skip while a run holds the lock), Replace
 * (terminate the holder, then take the lock).
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StateLock } from '../state/store.js';
import type { ConcurrencyPolicy } from '../manifest/types.js';
import { parseJobId } from '../state/snapshot-read.js';
import type { Clock } from '../system/clock.js';
import { nodePlatform, type Platform } from '../system/platform.js';
import { readRegularFileSync } from '../system/regular-file.js';
import { groupAlive } from '../system/runner.js';
import { isProcessAlive } from './lock.js';
import type { HeldLock, LockHolder } from './lock.js';
import type { Logger } from './types.js';

/** Runs of this process by lock path, so `Replace` inside the daemon cancels instead of signalling itself. */
const inProcess = new Map<string, AbortController>();

/** Registers an in-process run holding `lockPath`; returns the unregister function. */
export function registerInProcessRun(lockPath: string, controller: AbortController): () => void {
  inProcess.set(lockPath, controller);
  return () => {
    if (inProcess.get(lockPath) === controller) inProcess.delete(lockPath);
  };
}

/**
 * A run inside another daemon cannot be told to stop by a signal to its process (that would stop
 * the agent): Replace ends its job's tree instead, which that run would take for a failure and
 * retry. So Replace first leaves this request beside the lock, naming the run; the run finds it
 * when its child exits ({@link takeReplaceRequest}) and ends as cancelled, releasing the lock.
 */
function replaceRequestPath(lockFile: string): string {
  return `${lockFile}.replace`;
}

/** Leaves a request to replace run `runId` of the lock `lockFile`; best effort. */
function requestReplace(lockFile: string, runId: string): void {
  try {
    writeFileSync(replaceRequestPath(lockFile), JSON.stringify({ runId }), { mode: 0o600 });
  } catch {
    // Without it the run retries; Replace then skips, as before.
  }
}

/** True (and the request is removed) when Replace asked run `runId` of `lockFile` to end. */
export function takeReplaceRequest(lockFile: string, runId: string): boolean {
  const file = replaceRequestPath(lockFile);
  let asked: unknown;
  try {
    asked = (JSON.parse(readRegularFileSync(file, { maxBytes: 4096 }).data.toString('utf8')) as { runId?: unknown }).runId;
  } catch {
    return false;
  }
  if (asked !== runId) return false;
  try {
    unlinkSync(file);
  } catch {
    // Gone already: the request was taken.
  }
  return true;
}

/** Path of a job's run lock (the file-system StateStore's jobLock key). */
export function lockPath(stateDir: string, jobId: string): string {
  const { tenant, name } = parseJobId(jobId);
  return join(stateDir, 'locks', tenant, `${name}.lock`);
}

/** Decision for a run: go (with the lock, if any) or skip. */
export type Admission = { run: true; lock: HeldLock | null } | { run: false; holder: LockHolder | null };

/** Ports and timing of {@link admit}. */
export interface AdmitDeps {
  clock: Clock;
  log: Logger;
  /** How long Replace waits for the holder to exit after SIGTERM before SIGKILL. */
  graceMs: number;
  /** Sends `sig` to a process, or to a process group when `group` [Platform.stopProcess / killTree]. */
  kill?: (pid: number, sig: NodeJS.Signals, group: boolean) => void;
  /** Lock liveness, tree kills and group checks (default nodePlatform). */
  platform?: Platform;
}

function systemKill(platform: Platform, pid: number, sig: NodeJS.Signals, group: boolean): void {
  // On Windows a lone process is its whole tree: terminating the shim alone would orphan the job.
  if (group) platform.killTree(pid, sig);
  else platform.stopProcess(pid, sig);
}

/** Applies the concurrency policy with the job's run lock. Never throws for a busy lock. */
export async function admit(policy: ConcurrencyPolicy, lock: StateLock, me: LockHolder, d: AdmitDeps): Promise<Admission> {
  if (policy === 'Allow') return { run: true, lock: null };
  const platform = d.platform ?? nodePlatform;
  const path = lock.key;
  const first = await lock.tryAcquire(me, { platform });
  if (first.acquired) return { run: true, lock: first.lock };
  if (policy !== 'Replace' || !first.holder) return { run: false, holder: first.holder };
  const holder = first.holder;
  d.log.warn({ holderPid: holder.pid, holderRunId: holder.runId }, 'Replacing the running instance');
  const kill = d.kill ?? ((pid: number, sig: NodeJS.Signals, group: boolean) => systemKill(platform, pid, sig, group));
  terminate(path, holder, 'SIGTERM', kill, platform);
  const step = 50;
  for (let waited = 0; waited < d.graceMs + 1000; waited += step) {
    if (!(await lock.holder())) break;
    await d.clock.sleep(step);
  }
  if (await lock.holder()) terminate(path, holder, 'SIGKILL', kill, platform);
  for (let i = 0; i < 20; i++) {
    const again = await lock.tryAcquire(me, { platform });
    if (again.acquired) return { run: true, lock: again.lock };
    await d.clock.sleep(step);
  }
  return { run: false, holder };
}

function terminate(path: string, holder: LockHolder, sig: NodeJS.Signals, kill: NonNullable<AdmitDeps['kill']>, platform: Platform): void {
  const shimAlive = isProcessAlive(holder.pid, holder.startTime, platform);
  if (holder.pid === process.pid && shimAlive) {
    // The holder is a run inside this process (embedded scheduler): cancel it, never signal ourselves.
    inProcess.get(path)?.abort(sig);
    if (sig === 'SIGKILL' && holder.childPid) kill(holder.childPid, 'SIGKILL', true);
    return;
  }
  if (holder.inProcess && shimAlive) {
    // A run inside another daemon: signalling the daemon would stop the agent and all its
    // other jobs. Its job's tree alone is ended (on Windows, which has no groups, while the
    // child process runs: the live daemon's lock record names its current child).
    const child = holder.childPid;
    if (sig === 'SIGTERM') requestReplace(path, holder.runId);
    if (child && (platform.kind === 'win32' ? platform.isAlive(child, null) : groupAlive(child, platform))) kill(child, sig, true);
    return;
  }
  // The holding shim forwards SIGTERM to its child's group and reports `cancelled`. A shim that
  // is gone (kill -9) is not signalled: its pid may belong to another process by now. Its job's
  // group, which holds the lock alone, is signalled directly.
  if (shimAlive) kill(holder.pid, sig, false);
  if (holder.childPid && (sig === 'SIGKILL' || !shimAlive) && groupAlive(holder.childPid, platform)) kill(holder.childPid, sig, true);
}

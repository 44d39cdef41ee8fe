/**
 * Per-job run lock for `concurrency: Forbid | Replace`.
 *
 * Why a pid file and not flock(2): Node has no flock, and taking one through a `flock` child
 * would cost a process spawn on every run and does not exist on Windows. An O_EXCL file that
 * records the holder's pid and its start time (field 22 of /proc/<pid>/stat) is as robust
 * against kill -9: a lock whose holder is gone, or whose pid now belongs to a process started
 * at another time (pid reuse), is stale and taken over. Without /proc (Windows, macOS) only the
 * pid is checked. The takeover renames the stale file away and checks its inode, so two
 * contenders cannot both delete a fresh lock.
 */
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomHex } from '../state/sync-io.js';
import { groupAlive } from '../system/runner.js';

/** LockHolder is the content of a lock file. */
export interface LockHolder {
  pid: number;
  /** Process start time in clock ticks since boot, from /proc; null where unavailable. */
  startTime: string | null;
  runId: string;
  startedAt: string;
  /** Pid (= process group id) of the job's current child, for `Replace`. */
  childPid?: number;
}

/** A held lock. */
export interface HeldLock {
  /** Rewrites the holder record (e.g. to add the child pid). */
  update(holder: LockHolder): Promise<void>;
  /** Deletes the lock file if it is still ours. */
  release(): Promise<void>;
}

/** Result of {@link tryAcquireLock}. */
export type AcquireResult = { acquired: true; lock: HeldLock } | { acquired: false; holder: LockHolder | null };

/** Start time of a process (ticks since boot) from /proc, or null where /proc is unavailable. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** True when `pid` is running and (where /proc tells) was started at `startTime`. */
export function isProcessAlive(pid: number, startTime: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTime === null) return true;
  const now = processStartTime(pid);
  return now === null || now === startTime;
}

/** Identifies the current process for lock and spool ownership. */
export function selfIdentity(): { pid: number; startTime: string | null } {
  return { pid: process.pid, startTime: processStartTime(process.pid) };
}

/** How long an empty or unparsable lock file counts as being written by a live creator. */
const FRESH_MS = 10_000;

/**
 * Tries once (with up to three stale takeovers) to create the lock file at `path`.
 * Never throws for a held lock; I/O errors other than EEXIST propagate.
 */
export async function tryAcquireLock(path: string, holder: LockHolder): Promise<AcquireResult> {
  // Synchronous file calls: this is on the start-up path of every run, and each call is tiny.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let i = 0; i < 3; i++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(holder));
      } finally {
        closeSync(fd);
      }
      return { acquired: true, lock: heldLock(path, holder) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = readHolder(path);
    if (current === 'gone') continue;
    if (current.holder ? holderAlive(current.holder) : Date.now() - current.mtimeMs < FRESH_MS) {
      return { acquired: false, holder: current.holder };
    }
    takeOver(path, current.ino);
  }
  return { acquired: false, holder: null };
}

function readHolder(path: string): 'gone' | { holder: LockHolder | null; ino: number; mtimeMs: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'gone';
  }
  try {
    const st = fstatSync(fd);
    const text = readFileSync(fd, 'utf8');
    let holder: LockHolder | null = null;
    try {
      const v = JSON.parse(text) as LockHolder;
      if (typeof v.pid === 'number') holder = v;
    } catch {
      // Being written right now, or garbage: decided by age.
    }
    return { holder, ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

function takeOver(path: string, staleIno: number): void {
  const aside = `${path}.${randomHex(4)}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  try {
    if (statSync(aside).ino !== staleIno) {
      // Another contender replaced the stale lock first and we moved its fresh lock: put it back.
      linkSync(aside, path);
    }
  } catch {
    // Lost a race with a third contender: its lock stands.
  }
  try {
    unlinkSync(aside);
  } catch {
    // Already gone.
  }
}

function heldLock(path: string, initial: LockHolder): HeldLock {
  let holder = initial;
  // update() and release() run one after the other: a release racing a rewrite could
  // otherwise read a half-written file, think the lock is not ours and leave it behind.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  const isOurs = (): boolean => {
    const cur = readHolder(path);
    return cur !== 'gone' && cur.holder?.pid === holder.pid && cur.holder.runId === holder.runId;
  };
  return {
    update: (next) => serial(async () => {
      if (!isOurs()) return;
      holder = next;
      // Rewritten by rename, so a concurrent reader sees the old or the new record, never an empty file.
      const tmp = `${path}.${randomHex(4)}.new`;
      writeFileSync(tmp, JSON.stringify(next), { mode: 0o600 });
      renameSync(tmp, path);
    }),
    release: () => serial(async () => {
      if (!isOurs()) return;
      try {
        unlinkSync(path);
      } catch {
        // Already gone.
      }
    }),
  };
}

/** Reads the current holder of a lock, or null when it is free or stale. */
export async function lockHolder(path: string): Promise<LockHolder | null> {
  const cur = readHolder(path);
  if (cur === 'gone' || !cur.holder) return null;
  return holderAlive(cur.holder) ? cur.holder : null;
}

/**
 * A run is alive while its shim lives, or while its job's process group does: a shim killed
 * with -9 leaves its child running in its own session, and Forbid must still see that run.
 */
function holderAlive(h: LockHolder): boolean {
  if (isProcessAlive(h.pid, h.startTime)) return true;
  return h.childPid !== undefined && groupAlive(h.childPid);
}

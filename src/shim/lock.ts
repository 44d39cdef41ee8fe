/**
 * Per-job run lock for `concurrency: Forbid | Replace`, also taken by the spool flush.
 *
 * Why a pid file and not flock(2): Node has no flock, and taking one through a `flock` child
 * would cost a process spawn on every run and does not exist on Windows. The lock file records
 * the holder's pid and its start time (field 22 of /proc/<pid>/stat), which is as robust against
 * kill -9: a record whose process is gone, or whose pid now belongs to a process started at
 * another time (pid reuse), is stale. Without /proc (macOS) only the pid is checked; on Windows
 * the identity is the image name, checked with tasklist (see createWin32Platform).
 *
 * Why at most one process believes it holds the lock, for any interleaving of any contenders:
 * 1. Create: the record is written to a unique temp file, then link(2)ed to `<path>`. link fails
 *    when the path exists, so creating never replaces a lock and no one sees a half-written one.
 * 2. Only two things remove or replace `<path>`: its live holder (release, update), and a
 *    contender that proved the record stale *while holding the takeover guard*.
 * 3. The guard is the directory `<path>.takeover` with one owner file of a unique name inside.
 *    It is taken by renaming a fully populated temp directory onto it, which fails while it is
 *    non-empty: it succeeds only when the guard is free (absent or left empty). A guard whose
 *    owner died is freed by unlinking *that owner file, by its unique name*, then rmdir(2), which
 *    removes only an empty directory. Neither step can touch a live owner's guard, whatever was
 *    renamed there meanwhile; so the guard is a mutex that survives kill -9, with no unconditional
 *    delete anywhere.
 * 4. Holding the guard, the contender re-reads `<path>` and unlinks it only if that record is
 *    stale. Between the read and the unlink nothing else can change `<path>`: it exists (no
 *    creation), its holder is dead (no release or update) and other removers wait for the guard.
 *    So the unlink removes exactly the file proven stale; then everyone races on step 1 again.
 * The previous takeover renamed the stale file aside and linked it back when it proved fresh; a
 * third process could create the lock in that gap, and two processes then held it.
 *
 * Limits: liveness is by pid, so a lock directory must not be shared across pid namespaces. An
 * unparsable record (written in place by an older version, or where hard links are unsupported)
 * counts as live until FRESH_MS after its mtime. Shims of an older version still take over
 * without the guard. kill -9 between steps may leave `<path>.*.new` or `.takeover.*.tmp` debris.
 */
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomHex } from '../state/sync-io.js';
import { nodePlatform, type Platform } from '../system/platform.js';
import { renameRetrySync } from '../system/rename.js';
import { groupAlive } from '../system/runner.js';
import { makeDirSync } from '../system/regular-file.js';

/** LockHolder is the content of a lock file. */
export interface LockHolder {
  pid: number;
  /** Process identity (POSIX: start time in ticks since boot from /proc; Windows: image name); null where unavailable. */
  startTime: string | null;
  runId: string;
  startedAt: string;
  /** Pid (= process group id) of the job's current child, for `Replace`. */
  childPid?: number;
  /**
   * The run is inside a process that runs other jobs too (the daemon's embedded scheduler):
   * another process replacing it signals the job's group only, never `pid`.
   */
  inProcess?: true;
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

/** The points before each file-system step of the protocol, for {@link LockOptions.onStep}. */
export type LockStep = 'create' | 'judged' | 'guard' | 'guard-clear' | 'recheck' | 'remove' | 'guard-release' | 'update' | 'release';

/** Seams of {@link tryAcquireLock}; production passes none. */
export interface LockOptions {
  /** Runs before each step; a returned promise is awaited, so tests can interleave contenders step by step. */
  onStep?: (step: LockStep) => void | Promise<void>;
  /** Whether the process (pid, start time) of a record still runs [isProcessAlive]. */
  isAlive?: (pid: number, startTime: string | null) => boolean;
  /** Platform whose {@link Platform.isAlive} judges records when `isAlive` is absent (default nodePlatform). */
  platform?: Platform;
}

/** Identity of a process (POSIX: start time from /proc; Windows: image name) [Platform.processIdentity]. */
export function processStartTime(pid: number, platform: Platform = nodePlatform): string | null {
  return platform.processIdentity(pid);
}

/** True when `pid` is running and (where the platform tells) is still the process `startTime` names. */
export function isProcessAlive(pid: number, startTime: string | null, platform: Platform = nodePlatform): boolean {
  return platform.isAlive(pid, startTime);
}

/** This process's identity per platform: it cannot change while the process lives. */
const selfIdentities = new WeakMap<Platform, string | null>();

/**
 * Identifies the current process for lock and spool ownership. Read once per platform (a run
 * needs it for its lock and its spool entry, each a read of /proc/self/stat).
 */
export function selfIdentity(platform: Platform = nodePlatform): { pid: number; startTime: string | null } {
  let startTime = selfIdentities.get(platform);
  if (startTime === undefined) {
    startTime = platform.processIdentity(process.pid);
    selfIdentities.set(platform, startTime);
  }
  return { pid: process.pid, startTime };
}

/** How long an empty or unparsable record counts as being written by a live creator. */
const FRESH_MS = 10_000;
/** Creation attempts per call; each failed one may clear one stale lock or guard. */
const ATTEMPTS = 5;

/** Judges records: whether a shim (pid, identity) runs, and whether a job's process group does. */
interface Alive {
  shim: NonNullable<LockOptions['isAlive']>;
  group: (pgid: number) => boolean;
}
type Step = (step: LockStep) => Promise<void>;
type LockRecord = { holder: LockHolder | null; mtimeMs: number };

/**
 * Tries once (with a few stale takeovers) to create the lock file at `path`.
 * Never throws for a held lock; I/O errors other than EEXIST propagate.
 */
export async function tryAcquireLock(path: string, holder: LockHolder, o: LockOptions = {}): Promise<AcquireResult> {
  // Synchronous file calls: this is on the start-up path of every run, and each call is tiny.
  makeDirSync(dirname(path), 0o700);
  const alive = judge(o);
  const step: Step = async (s) => o.onStep?.(s);
  for (let i = 0; i < ATTEMPTS; i++) {
    await step('create');
    let created: boolean;
    try {
      created = createLockFile(path, holder);
    } catch (err) {
      // The lock cannot be created (full disk, read-only, file size limit), but a live run's
      // record still says the job runs: Forbid skips it rather than run the job twice.
      const held = readRecord(path);
      if (held !== 'gone' && !isStale(held, alive)) return { acquired: false, holder: held.holder };
      throw err;
    }
    if (created) return { acquired: true, lock: heldLock(path, holder, step) };
    const current = readRecord(path);
    if (current === 'gone') continue;
    if (!isStale(current, alive)) return { acquired: false, holder: current.holder };
    await step('judged');
    await removeStale(path, holder, alive, step);
  }
  return { acquired: false, holder: null };
}

/**
 * The liveness judge of records: the shim's process, and its job's group. The group is checked
 * through the same platform, so a Windows platform (no process groups) never consults /proc.
 */
function judge(o: LockOptions): Alive {
  const platform = o.platform ?? nodePlatform;
  return {
    shim: o.isAlive ?? ((pid, st) => isProcessAlive(pid, st, platform)),
    group: (pgid) => groupAlive(pgid, platform),
  };
}

/** Step 1: links a fully written temp file to `path`; false when `path` exists. */
function createLockFile(path: string, holder: LockHolder): boolean {
  const tmp = `${path}.${randomHex(6)}.new`;
  try {
    writeFileSync(tmp, JSON.stringify(holder), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    // Created but not written (a full disk, a file size limit): not left behind, run after run.
    quiet(() => unlinkSync(tmp));
    throw err;
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    return createInPlace(path, holder);
  } finally {
    quiet(() => unlinkSync(tmp));
  }
}

/** O_EXCL create for file systems without hard links: readers see an empty file for a moment. */
function createInPlace(path: string, holder: LockHolder): boolean {
  try {
    writeFileSync(path, JSON.stringify(holder), { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Step 4: under the guard, unlinks `path` only if its record is (still) stale. */
async function removeStale(path: string, holder: LockHolder, alive: Alive, step: Step): Promise<void> {
  const release = await takeGuard(`${path}.takeover`, holder, alive, step);
  if (!release) return; // Another live contender is clearing it.
  try {
    await step('recheck');
    const current = readRecord(path);
    if (current === 'gone' || !isStale(current, alive)) return;
    await step('remove');
    quiet(() => unlinkSync(path));
  } finally {
    await release();
  }
}

/** Step 3: takes the guard directory; returns its release, or null while a live process holds it. */
async function takeGuard(guard: string, owner: LockHolder, alive: Alive, step: Step): Promise<(() => Promise<void>) | null> {
  const tmp = `${guard}.${randomHex(6)}.tmp`;
  const name = `${owner.pid}-${randomHex(8)}.owner`;
  mkdirSync(tmp, { mode: 0o700 });
  let held = false;
  try {
    writeFileSync(join(tmp, name), JSON.stringify({ pid: owner.pid, startTime: owner.startTime }), { flag: 'wx', mode: 0o600 });
    for (let i = 0; i < ATTEMPTS && !held; i++) {
      await step('guard');
      try {
        renameSync(tmp, guard);
        held = true;
      } catch (err) {
        // Taken (Windows refuses a rename onto any directory: EPERM/EACCES).
        if (!['ENOTEMPTY', 'EEXIST', 'EPERM', 'EACCES'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
        if (!(await clearDeadOwners(guard, alive, step))) return null;
      }
    }
  } finally {
    if (!held) {
      quiet(() => unlinkSync(join(tmp, name)));
      quiet(() => rmdirSync(tmp));
    }
  }
  if (!held) return null;
  return async () => {
    await step('guard-release');
    quiet(() => unlinkSync(join(guard, name)));
    quiet(() => rmdirSync(guard));
  };
}

/** Unlinks the guard's dead owner files by name and removes it if empty; false if an owner lives. */
async function clearDeadOwners(guard: string, alive: Alive, step: Step): Promise<boolean> {
  let names: string[] = [];
  quiet(() => (names = readdirSync(guard)));
  for (const name of names) {
    const owner = readRecord(join(guard, name));
    if (owner === 'gone') continue;
    if (!isStale(owner, alive, false)) return false;
    await step('guard-clear');
    quiet(() => unlinkSync(join(guard, name)));
  }
  quiet(() => rmdirSync(guard));
  return true;
}

function isStale(r: LockRecord, alive: Alive, withChild = true): boolean {
  if (!r.holder) return Date.now() - r.mtimeMs >= FRESH_MS;
  return !holderAlive(r.holder, alive, withChild);
}

/**
 * A run is alive while its shim lives, or while its job's process group does: a shim killed
 * with -9 leaves its child running in its own session, and Forbid must still see that run.
 * Windows has no process groups (the platform's group check is false): a run there is alive
 * while its shim is, and Replace reaches the job's tree through the shim's (taskkill /T).
 */
function holderAlive(h: LockHolder, alive: Alive, withChild = true): boolean {
  if (alive.shim(h.pid, h.startTime)) return true;
  return withChild && h.childPid !== undefined && alive.group(h.childPid);
}

function readRecord(path: string): 'gone' | LockRecord {
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
      // Being written in place right now, or garbage: decided by age.
    }
    return { holder, mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/** Runs a file-system call whose failure (already gone, not empty) needs no handling. */
function quiet(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // Nothing to do.
  }
}

function heldLock(path: string, initial: LockHolder, step: Step): HeldLock {
  let holder = initial;
  // update() and release() run one after the other: a release racing a rewrite could
  // otherwise read a half-written file, think the lock is not ours and leave it behind.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  // While we live, only we replace or remove our file (see the header), so a check then act is safe.
  const isOurs = (): boolean => {
    const cur = readRecord(path);
    return cur !== 'gone' && cur.holder?.pid === holder.pid && cur.holder.runId === holder.runId;
  };
  return {
    update: (next) => serial(async () => {
      if (!isOurs()) return;
      holder = next;
      // Rewritten by rename, so a concurrent reader sees the old or the new record, never an empty file.
      const tmp = `${path}.${randomHex(6)}.new`;
      writeFileSync(tmp, JSON.stringify(next), { mode: 0o600 });
      await step('update');
      renameRetrySync(tmp, path);
    }),
    release: () => serial(async () => {
      if (!isOurs()) return;
      await step('release');
      quiet(() => unlinkSync(path));
    }),
  };
}

/** Reads the current holder of a lock, or null when it is free or stale (judged through `o.platform`, default nodePlatform). */
export async function lockHolder(path: string, o: Pick<LockOptions, 'isAlive' | 'platform'> = {}): Promise<LockHolder | null> {
  const cur = readRecord(path);
  if (cur === 'gone' || !cur.holder) return null;
  return holderAlive(cur.holder, judge(o)) ? cur.holder : null;
}

/**
 * Once-per-instant markers of scheduled runs (SPEC §8, last bullet): `cronsync exec --scheduled`
 * runs a job at most once per scheduled minute, however many triggers or scheduler passes start
 * it: two Task Scheduler triggers at the same minute, cron.d host lines that meet at one instant,
 * a spring-forward shifted time that is also a regular one, a trigger repeated by the scheduler.
 * (A wall-clock time started in both passes of a fall-back hour is two instants, an hour apart:
 * isFireTime, SPEC §2a rule 4, decides which of them run; this module keys on the UTC minute.)
 *
 * Layout, next to the job's last-run record `runs/<tenant>/<name>.json` (./runs.ts):
 * `<stateDir>/runs/<tenant>/<name>/fired/<YYYY-MM-DD>/<HHMM>`, the UTC date and time of the
 * scheduled minute. Claiming a minute is one exclusive create (O_CREAT|O_EXCL) of its empty
 * marker: the kernel lets exactly one of any number of racing processes create it, and everyone
 * else gets EEXIST. Directories are 0700, markers 0600.
 *
 * A clock set ahead: a start under a clock set ahead claims a minute that has not come yet.
 * Claimed up to a day early, the run counts as that minute's (the rule the embedded scheduler
 * keeps, src/scheduler/embedded/loop.ts): a duplicate start up to a day late is still
 * recognised. Claimed longer ago, the claim is stale and the minute runs when it really comes.
 * The marker holds the host's monotonic clock at its claim ({@link hostMonotonicMs}, decimal
 * milliseconds and a newline), which no wall-clock step moves; a start that finds the minute
 * claimed reads it ({@link isStaleClaim}) and, when stale, claims the next slot of the minute,
 * `<HHMM>.1`, `<HHMM>.2`, … (exclusive creates again, so racing starts still agree on one
 * winner). An empty marker (older versions, or a claim cut short) is never stale.
 *
 * Bounded: markers are grouped by UTC day. The start that creates a job's directory for a new
 * day removes that job's day directories from before yesterday, and those more than a day ahead
 * (left by a clock that was set ahead). So a job holds at most three days of markers. That is
 * one readdir of a few entries per job and day; the common claim costs an open(2), a write(2)
 * of a few bytes and a close(2). A job's markers go with its last-run record when the job is
 * removed ({@link removeFiredMarkers}, called by deleteLastRun in ./runs.ts).
 *
 * Synchronous node:fs only: this is on the start-up path of every scheduled run.
 */
import { closeSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IoError, ioError } from '../errors.js';
import type { JobId } from '../manifest/types.js';
import { hostMonotonicMs } from '../system/clock.js';
import { makeDirSync, readRegularFileSync } from '../system/regular-file.js';
import { parseJobId } from './snapshot-read.js';

const MS_MINUTE = 60_000;
const MS_DAY = 86_400_000;
/** Day directories this many days before the current one, or more, are removed. */
const KEEP_DAYS_BEFORE = 1;
/** Day directories this many days after the current one, or more, are removed. */
const KEEP_DAYS_AFTER = 1;
const DAY_NAME = /^(\d{4})-(\d{2})-(\d{2})$/;
/**
 * A claim made longer ago than this by the monotonic clock is stale (see the module comment):
 * the start that made it ran under a clock set at least this far ahead.
 */
export const STALE_CLAIM_MS = MS_DAY;
/** Slots of one minute after its first marker (`<HHMM>.1` …); past the last, a start skips. */
export const MAX_SLOT = 8;

/** Path of slot `slot` of the minute whose first marker is `first`: `first` itself for 0, else `<first>.<slot>`. */
export function slotPath(first: string, slot: number): string {
  return slot === 0 ? first : `${first}.${slot}`;
}

/** What a marker records of its claim made at monotonic time `mono`, read by {@link isStaleClaim}. */
export function claimRecord(mono: number): string {
  return `${Math.max(0, Math.floor(mono))}\n`;
}

/**
 * Whether the claim recorded in a marker (`text`: the monotonic milliseconds of its claim, see
 * the module comment) is stale at monotonic time `now`: made more than {@link STALE_CLAIM_MS}
 * ago. The host's monotonic clock counts from its boot, so a marker whose time is above `now`
 * was claimed in an earlier boot, at least `now` ago; one below `now` was claimed at least
 * `now - time` ago (exactly that in the same boot; more in an earlier one). Neither figure
 * counts a suspend, so both are at most the real time. `now` must be read after `text`: a
 * claim made after an earlier reading would look like one of an earlier boot. An empty,
 * unreadable or cut-short record (no final newline) is never stale: the minute stays claimed,
 * as before markers held a time. One state dir belongs to one host: the rule takes every
 * marker's time for this host's monotonic clock (as run locks take pids for this host's).
 */
export function isStaleClaim(text: string, now: number): boolean {
  const m = /^(\d{1,16})\n$/.exec(text);
  if (!m || !Number.isFinite(now)) return false;
  const then = Number(m[1]);
  return (then <= now ? now - then : now) > STALE_CLAIM_MS;
}

/** The claim recorded in marker `path`, or '' when it cannot be read (see {@link isStaleClaim}). */
function readClaim(path: string): string {
  try {
    return readRegularFileSync(path, { maxBytes: 32 }).data.toString('latin1');
  } catch {
    return '';
  }
}

/** Directory of a job's markers. @throws {UsageError} on a malformed id. */
export function firedDir(stateDir: string, id: JobId | string): string {
  const { tenant, name } = parseJobId(id);
  return join(stateDir, 'runs', tenant, name, 'fired');
}

/** Path of the marker of the scheduled minute holding `instant` (seconds are ignored). @throws {UsageError} */
export function firedMarkerPath(stateDir: string, id: JobId | string, instant: Date): string {
  const iso = new Date(Math.floor(instant.getTime() / MS_MINUTE) * MS_MINUTE).toISOString();
  return join(firedDir(stateDir, id), iso.slice(0, 10), `${iso.slice(11, 13)}${iso.slice(14, 16)}`);
}

/** Result of {@link claimFireInstant}. */
export interface FireClaim {
  /** True for the one start that claimed the minute; false when another start had it already. */
  claimed: boolean;
  /** The marker's path. */
  path: string;
}

/**
 * Claims the scheduled minute holding `instant` for job `id`: true for exactly one caller per
 * job and minute, across processes, false for every later or racing one. A claim made more
 * than a day earlier by the host's monotonic clock (`monotonic`, read when the claim is made,
 * and after reading a marker already there) is stale and does not count (see the module
 * comment).
 * @throws {UsageError} on a malformed id or an invalid instant.
 * @throws {IoError} when the marker cannot be created (e.g. a read-only state dir).
 */
export function claimFireInstant(stateDir: string, id: JobId | string, instant: Date, monotonic: () => number = hostMonotonicMs): FireClaim {
  const t = instant.getTime();
  if (!Number.isFinite(t)) throw new IoError(`Invalid scheduled instant for ${String(id)}`, { id });
  const first = firedMarkerPath(stateDir, id, instant);
  const day = dirname(first);
  let slot = 0;
  // The day directory may be missing (first start of the day) or be removed by a pruner between
  // our mkdir and our create (only with a clock days apart from another process's): retry.
  for (let attempt = 0; ; ) {
    const path = slotPath(first, slot);
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        // The clock after the read: a claim we can read was made before this reading.
        if (slot < MAX_SLOT && isStaleClaim(readClaim(path), monotonic())) {
          slot++;
          continue;
        }
        return { claimed: false, path };
      }
      if (code !== 'ENOENT' || attempt >= 2) throw new IoError(`Cannot record the scheduled run ${path}: ${(err as Error).message}`, { path }, { cause: err });
      attempt++;
      slot = 0;
      // Not mkdirSync's recursive mode, which never returns under /proc (see makeDirSync).
      const created = makeDirSync(day, 0o700);
      // Only the process that made the day's directory prunes: once per job and day.
      if (created !== undefined) pruneFiredMarkers(firedDir(stateDir, id), t);
      continue;
    }
    // The minute is ours from the create on; its time only lets a later start tell a stale
    // claim. A write that fails leaves the marker empty: never stale (conservative).
    try {
      writeSync(fd, claimRecord(monotonic()));
    } catch {
      // See above.
    }
    try {
      closeSync(fd);
    } catch {
      // The marker exists, and the claim with it.
    }
    return { claimed: true, path };
  }
}

/**
 * Removes the day directories of `dir` (a job's {@link firedDir}) from before yesterday or more
 * than a day ahead of `now` (epoch ms). Best effort and never throws: another process may prune
 * the same directory at the same time. Names that are not `YYYY-MM-DD` are left alone.
 * @returns the number of day directories removed.
 */
export function pruneFiredMarkers(dir: string, now: number): number {
  const today = Math.floor(now / MS_DAY);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = DAY_NAME.exec(name);
    if (!m) continue;
    const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / MS_DAY;
    if (!Number.isInteger(day) || (day >= today - KEEP_DAYS_BEFORE && day <= today + KEEP_DAYS_AFTER)) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed++;
    } catch {
      // Removed by a concurrent pruner, or not removable now: the next day's claim tries again.
    }
  }
  return removed;
}

/**
 * Removes every marker of a job (when the job itself is removed): its directory
 * `runs/<tenant>/<name>/`. Returns false when there was none.
 * @throws {IoError} @throws {UsageError} on a malformed id.
 */
export function removeFiredMarkers(stateDir: string, id: JobId | string): boolean {
  const { tenant, name } = parseJobId(id);
  const jobDir = join(stateDir, 'runs', tenant, name);
  try {
    readdirSync(jobDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError('read', jobDir, err);
  }
  try {
    rmSync(jobDir, { recursive: true, force: true });
    return true;
  } catch (err) {
    throw ioError('delete', jobDir, err);
  }
}

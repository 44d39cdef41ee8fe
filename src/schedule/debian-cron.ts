/**
 * A pure model of the scheduling loop of Debian's cron 3.0pl1 (Vixie cron with the DST
 * handling also found in OpenBSD's cron.c of 2001-2002), so adapters and fidelity tests can
 * tell exactly when the host's cron would start an entry, across DST changes, without a real
 * daemon. What is modelled, from `cron.c` `main`/`find_jobs`/`set_time` and `entry.c`:
 *
 * - Clocks count minutes of *local wall time*: `clockTime = (now + GMToff) / 60`, where
 *   `GMToff` is recomputed only when `tm_isdst` flips. cron sleeps to 1 s after each minute.
 * - `timeDiff = timeRunning - virtualTime` picks the wake-up kind: 1 = normal; 2..5 =
 *   woke late, run every missed minute; 6..180 = clock jumped forward (DST starts): run
 *   wildcard jobs for the current minute, then fixed-time jobs for every skipped minute,
 *   sleeping 10 s after each batch that started something; -180..0 = clock went back (DST
 *   ends): run only wildcard jobs, virtual time stays until the clock catches up; anything
 *   larger = clock reset, run everything for the new minute.
 * - "Wildcard" entries are those whose minute or hour field *starts with* `*` (MIN_STAR,
 *   HR_STAR; `@hourly` sets HR_STAR). Day matching uses DOM_STAR/DOW_STAR, set when the
 *   field starts with `*`: if either is set both fields must match, else either may. So
 *   `0 12 *\/2 * 1` means "odd days that are Mondays" here, but "odd days or Mondays" under
 *   SPEC §2a.
 * - A job already queued is not queued twice in the same batch (`job_add`).
 *
 * Approximation: `tm_isdst` is taken as "offset above the lower of the offsets on 1 January
 * and 1 July of that year", which is exact for every zone with a single summer-time rule.
 */

import { ManifestError } from '../errors.js';
import { parseCron } from './cron.js';
import type { CronSpec } from './cron.js';
import { isValidTimeZone, offsetAt } from './zone.js';

/** One crontab entry as Debian cron sees it: bit sets plus the `*` flags. */
export interface DebianEntry {
  readonly spec: CronSpec;
  /** MIN_STAR or HR_STAR: the entry is a "wildcard" job for the DST logic. */
  readonly wildcard: boolean;
  /** DOM_STAR or DOW_STAR: both day fields must match (else either may). */
  readonly dayAnd: boolean;
}

/** Why cron started a job at that moment, after the wake-up kind of `cron.c`. */
export type DebianRunReason = 'normal' | 'late' | 'dst-forward' | 'dst-back' | 'clock-jump';

/** One job start predicted by {@link simulateDebianCron}. */
export interface DebianRun {
  /** Index of the entry in the input array. */
  readonly entryIndex: number;
  /** When cron forks the job (second precision). */
  readonly instant: Date;
  readonly reason: DebianRunReason;
}

/**
 * Builds the Debian view of a schedule. Throws on expressions `parseCron` rejects.
 * @throws {ManifestError} when the schedule is invalid.
 */
export function toDebianEntry(schedule: CronSpec | string): DebianEntry {
  let spec: CronSpec;
  if (typeof schedule === 'string') {
    const r = parseCron(schedule);
    if (!r.ok) throw new ManifestError(`invalid schedule "${schedule}": ${r.error.message}`, { ...r.error });
    spec = r.value;
  } else spec = schedule;
  if (spec.source.startsWith('@')) {
    // entry.c: only @hourly sets HR_STAR; @weekly/@monthly/@yearly set a day *_STAR flag.
    return { spec, wildcard: spec.source === '@hourly', dayAnd: true };
  }
  const [min, hour, dom, , dow] = spec.fields;
  return {
    spec,
    wildcard: min.startsWith('*') || hour.startsWith('*'),
    dayAnd: dom.startsWith('*') || dow.startsWith('*'),
  };
}

/** Does Debian cron's `find_jobs` match this entry at the given wall minute? */
export function debianMatches(e: DebianEntry, wall: Date): boolean {
  const s = e.spec;
  if (!s.minuteBits[wall.getUTCMinutes()] || !s.hourBits[wall.getUTCHours()] || !s.monthBits[wall.getUTCMonth() + 1]) {
    return false;
  }
  const dom = s.domBits[wall.getUTCDate()] === 1;
  const dow = s.dowBits[wall.getUTCDay()] === 1;
  return e.dayAnd ? dom && dow : dom || dow;
}

const dstBase = new Map<string, number>();

function isDst(zone: string, sec: number): boolean {
  const year = new Date(sec * 1000).getUTCFullYear();
  const key = `${zone}\u0000${year}`;
  let base = dstBase.get(key);
  if (base === undefined) {
    base = Math.min(offsetAt(zone, Date.UTC(year, 0, 1)), offsetAt(zone, Date.UTC(year, 6, 1)));
    dstBase.set(key, base);
  }
  return offsetAt(zone, sec * 1000) > base;
}

/**
 * Simulates Debian cron started at `from` in host zone `hostZone` until `to`, and returns
 * every job start in between, in order. Entries are schedule strings or parsed entries.
 * Cost is one loop step per minute simulated, so keep ranges to days or weeks.
 * @throws {ManifestError} when the zone or a schedule is invalid.
 */
export function simulateDebianCron(
  entries: readonly (string | CronSpec | DebianEntry)[],
  hostZone: string,
  from: Date,
  to: Date,
): DebianRun[] {
  if (!isValidTimeZone(hostZone)) throw new ManifestError(`unknown time zone "${hostZone}"`, { zone: hostZone });
  const db = entries.map((e) => (typeof e === 'object' && 'wildcard' in e ? e : toDebianEntry(e)));
  const endSec = Math.floor(to.getTime() / 1000);
  const runs: DebianRun[] = [];

  let now = Math.floor(from.getTime() / 1000);
  let gmtOff = 0;
  let dst = false;
  let clockTime = 0;
  const setTime = (initialize: boolean): void => {
    const d = isDst(hostZone, now);
    if (initialize || d !== dst) {
      dst = d;
      gmtOff = offsetAt(hostZone, now * 1000) / 1000;
    }
    clockTime = Math.floor((now + gmtOff) / 60);
  };

  const queue: number[] = [];
  let reason: DebianRunReason = 'normal';
  const findJobs = (vtime: number, doWild: boolean, doNonWild: boolean): void => {
    const wall = new Date(vtime * 60_000); // gmtime() of local minutes = the wall clock
    db.forEach((e, i) => {
      if (!debianMatches(e, wall)) return;
      if ((doNonWild && !e.wildcard) || (doWild && e.wildcard)) {
        if (!queue.includes(i)) queue.push(i);
      }
    });
  };
  const runQueue = (): boolean => {
    const ran = queue.length > 0;
    for (const i of queue) if (now <= endSec) runs.push({ entryIndex: i, instant: new Date(now * 1000), reason });
    queue.length = 0;
    return ran;
  };

  setTime(true);
  let timeRunning = clockTime;
  let virtualTime = clockTime;
  while (now <= endSec) {
    do {
      const target = timeRunning + 1;
      const wait = target * 60 - (now + gmtOff) + 1;
      if (wait > 0 && wait < 65) now += wait;
      setTime(false);
      // A busy loop in the real daemon: time passes until the minute changes.
      if (clockTime === timeRunning) {
        now = (clockTime + 1) * 60 - gmtOff;
        setTime(false);
      }
    } while (clockTime === timeRunning);
    timeRunning = clockTime;
    const timeDiff = timeRunning - virtualTime;
    if (timeDiff === 1) {
      reason = 'normal';
      virtualTime = timeRunning;
      findJobs(virtualTime, true, true);
    } else {
      let kind = -1;
      if (timeDiff > -180) kind = 0;
      if (timeDiff > 0) kind = 1;
      if (timeDiff > 5) kind = 2;
      if (timeDiff > 180) kind = 3;
      switch (kind) {
        case 1:
          reason = 'late';
          do {
            if (runQueue()) now += 10;
            virtualTime++;
            findJobs(virtualTime, true, true);
          } while (virtualTime < timeRunning);
          break;
        case 2:
          reason = 'dst-forward';
          findJobs(timeRunning, true, false);
          do {
            if (runQueue()) now += 10;
            virtualTime++;
            findJobs(virtualTime, false, true);
            setTime(false);
          } while (virtualTime < timeRunning && clockTime === timeRunning);
          break;
        case 0:
          reason = 'dst-back';
          findJobs(timeRunning, true, false);
          break;
        default:
          reason = 'clock-jump';
          virtualTime = timeRunning;
          findJobs(timeRunning, true, true);
      }
    }
    runQueue();
  }
  return runs;
}

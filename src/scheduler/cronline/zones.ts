/**
 * What the relation between a job's zone and the host's zone means for host cron lines,
 * computed once per (job zone, host zone, horizon) from the zones' offset transitions:
 *
 * - shift candidates: every offset difference (host minus job) in force during the horizon,
 *   with the job-wall months in which it is in force, plus the shifts of job-zone
 *   spring-forward gaps (SPEC §2a rule 3 moves a gap minute forward by the gap's length);
 * - the host's unsafe hours, where Debian cron's DST logic differs from "start at every real
 *   minute whose wall clock matches": gap hours (fixed-time entries are caught up at the jump)
 *   and repeated hours (fixed-time entries do not run in the second pass);
 * - which job-wall minutes of the day can fire during a host second pass.
 */
import { offsetAt, transitionsBetween } from '../../schedule/zone.js';
import type { Transition } from '../../schedule/zone.js';
import { remember } from '../../memo.js';

const MS_MIN = 60_000;
const MS_DAY = 86_400_000;
/** Minutes after a host jump in which no fire may be due when gap hours keep fixed lines. */
export const JUMP_SLACK_MINUTES = 10;

/** Years scanned for transitions, [fromYear, toYear). Rules repeat yearly, so any span works. */
export interface Horizon {
  fromYear: number;
  toYear: number;
}

/** Default horizon: wide enough to see every current DST rule and recent rule changes. */
export const DEFAULT_HORIZON: Horizon = { fromYear: 2024, toYear: 2040 };

/** One way a job-wall minute maps to a host-wall minute: host = job + delta. */
export interface ShiftCandidate {
  /** Minutes added to the job-wall time. */
  readonly delta: number;
  /** Job-wall months (bit m-1) in which this shift occurs. */
  readonly months: number;
  /** Job-wall minutes of the day this shift applies to; null = all. */
  readonly window: Uint8Array | null;
}

/** The precomputed relation of one (job zone, host zone) pair. */
export interface ZonePair {
  readonly candidates: readonly ShiftCandidate[];
  /** Host hours containing a spring-forward gap minute. */
  readonly gapHours: ReadonlySet<number>;
  /** Host hours containing a repeated (fall-back) minute. */
  readonly repeatHours: ReadonlySet<number>;
  /** Host minutes of the day within JUMP_SLACK_MINUTES after a spring-forward jump. */
  readonly jumpWindow: Uint8Array;
  /** Job-wall minutes of the day that occur during a host second pass, job zone in ordinary time. */
  readonly secondPass: Uint8Array;
  /** Same, where the job zone is itself in its own second pass (fires only if hour is `*`). */
  readonly secondPassOwn: Uint8Array;
}

const cache = new Map<string, ZonePair>();
/** Distinct zone pairs and horizons remembered; past it the cache starts again. */
const MAX_PAIRS = 1000;

function minuteOfDay(wallMs: number): number {
  return Math.floor((((wallMs % MS_DAY) + MS_DAY) % MS_DAY) / MS_MIN);
}

function monthOf(wallMs: number): number {
  return new Date(wallMs).getUTCMonth();
}

/** Job-wall months (mask) covered by the wall range [from, to). */
function monthsBetween(fromWall: number, toWall: number): number {
  let mask = 0;
  const d = new Date(fromWall);
  let y = d.getUTCFullYear();
  let m = d.getUTCMonth();
  while (Date.UTC(y, m, 1) < toWall && mask !== 0xfff) {
    mask |= 1 << m;
    m++;
    if (m === 12) {
      m = 0;
      y++;
    }
  }
  return mask;
}

function inSecondPass(transitions: readonly Transition[], t: number): boolean {
  return transitions.some((tr) => tr.after < tr.before && t >= tr.at && t < tr.at + (tr.before - tr.after));
}

function addCandidate(list: ShiftCandidate[], delta: number, months: number, window: Uint8Array | null): void {
  const key = window ? window.join('') : '';
  const same = list.findIndex((c) => c.delta === delta && (c.window ? c.window.join('') : '') === key);
  if (same >= 0) list[same] = { ...list[same]!, months: list[same]!.months | months };
  else list.push({ delta, months, window });
}

function compute(jobZone: string, hostZone: string, horizon: Horizon): ZonePair {
  const from = Date.UTC(horizon.fromYear, 0, 1);
  const to = Date.UTC(horizon.toYear, 0, 1);
  const jt = transitionsBetween(jobZone, from, to);
  const ht = transitionsBetween(hostZone, from, to);
  const candidates: ShiftCandidate[] = [];

  // Ordinary time: one candidate per offset difference, with the job-wall months it covers.
  const cuts = [...new Set([from, ...jt.map((t) => t.at), ...ht.map((t) => t.at), to])].sort((a, b) => a - b);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i]!;
    const b = cuts[i + 1]!;
    const oj = offsetAt(jobZone, a);
    const oh = offsetAt(hostZone, a);
    addCandidate(candidates, (oh - oj) / MS_MIN, monthsBetween(a + oj, b + oj), null);
  }

  // Rule 3: a job-wall minute w in a gap fires at instant w - before.
  for (const tr of jt) {
    if (tr.after <= tr.before) continue;
    const gapFrom = tr.at + tr.before;
    const gapLen = (tr.after - tr.before) / MS_MIN;
    const window = new Uint8Array(1440);
    for (let i = 0; i < gapLen; i++) window[minuteOfDay(gapFrom + i * MS_MIN)] = 1;
    const months = (1 << monthOf(gapFrom)) | (1 << monthOf(gapFrom + gapLen * MS_MIN - 1));
    const deltas = new Set<number>();
    for (let i = 0; i < gapLen; i++) deltas.add((offsetAt(hostZone, tr.at + i * MS_MIN) - tr.before) / MS_MIN);
    for (const delta of deltas) addCandidate(candidates, delta, months, window);
  }

  const gapHours = new Set<number>();
  const repeatHours = new Set<number>();
  const jumpWindow = new Uint8Array(1440);
  const secondPass = new Uint8Array(1440);
  const secondPassOwn = new Uint8Array(1440);
  for (const tr of ht) {
    const len = Math.abs(tr.after - tr.before) / MS_MIN;
    if (tr.after > tr.before) {
      for (let i = 0; i < len; i++) gapHours.add(Math.floor(minuteOfDay(tr.at + tr.before + i * MS_MIN) / 60));
      for (let i = 0; i < JUMP_SLACK_MINUTES; i++) jumpWindow[minuteOfDay(tr.at + tr.after + i * MS_MIN)] = 1;
      continue;
    }
    for (let i = 0; i < len; i++) {
      const t = tr.at + i * MS_MIN;
      repeatHours.add(Math.floor(minuteOfDay(t + tr.after) / 60));
      const oj = offsetAt(jobZone, t);
      (inSecondPass(jt, t) ? secondPassOwn : secondPass)[minuteOfDay(t + oj)] = 1;
      // A job-zone gap minute fired late (rule 3) may also land in the host's second pass.
      for (const g of jt) {
        if (g.after > g.before && t >= g.at && t < g.at + (g.after - g.before)) secondPass[minuteOfDay(t + g.before)] = 1;
      }
    }
  }
  return { candidates, gapHours, repeatHours, jumpWindow, secondPass, secondPassOwn };
}

/** The (cached) relation of a job zone and a host zone over a horizon. Zones must be valid. */
export function zonePair(jobZone: string, hostZone: string, horizon: Horizon = DEFAULT_HORIZON): ZonePair {
  const key = `${jobZone}\u0000${hostZone}\u0000${horizon.fromYear}\u0000${horizon.toYear}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = remember(cache, MAX_PAIRS, key, compute(jobZone, hostZone, horizon));
  }
  return hit;
}

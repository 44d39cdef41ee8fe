/**
 * Simulation harness of the exact-schedule proof (issue 4 item 8): host lines from
 * translateSchedule, started by the Debian cron model, filtered by the exec guard
 * (`isFireTime`), compared with the SPEC §2a iterator.
 */
import { parseCron } from '../../src/schedule/cron.js';
import type { CronSpec } from '../../src/schedule/cron.js';
import { simulateDebianCron, toDebianEntry } from '../../src/schedule/debian-cron.js';
import type { DebianEntry } from '../../src/schedule/debian-cron.js';
import { firesBetween, isFireTime } from '../../src/schedule/fires.js';
import { hostLineFields, translateSchedule } from '../../src/scheduler/cronline/translate.js';

const MS_MIN = 60_000;

/** A schedule translated for one host zone. */
export interface Prepared {
  spec: CronSpec;
  jobZone: string;
  hostZone: string;
  lines: string[];
  entries: DebianEntry[];
}

/** Outcome of one simulated window: fired instants (floor minute, with multiplicity). */
export interface WindowResult {
  expected: number[];
  actual: number[];
  starts: number;
}

/** Translates `schedule` (job zone) into host lines and Debian entries. */
export function prepare(schedule: string, jobZone: string, hostZone: string): Prepared {
  const parsed = parseCron(schedule);
  if (!parsed.ok) throw new Error(`bad schedule ${schedule}`);
  const spec = parsed.value;
  const lines = translateSchedule(spec, jobZone, hostZone).map(hostLineFields);
  return { spec, jobZone, hostZone, lines, entries: lines.map((l) => toDebianEntry(l)) };
}

/**
 * Runs the Debian model over [from, to], applies the guard to every start, and compares with
 * the §2a iterator well inside the window (the model settles during its first minute).
 * With `exactGuard` the guard is isFireTime() itself; otherwise the same answer is read from
 * the iterator's fire set (cheaper; the schedule tests prove the two agree).
 */
export function simulateWindow(p: Prepared, from: number, to: number, exactGuard = true): WindowResult {
  const runs = simulateDebianCron(p.entries, p.hostZone, new Date(from), new Date(to));
  const lo = from + 2 * MS_MIN;
  const hi = to - 2 * MS_MIN;
  const expected = firesBetween(p.spec, p.jobZone, new Date(lo - 1), new Date(hi), 100_000).map((d) => d.getTime());
  const fireSet = exactGuard ? null : new Set(firesBetween(p.spec, p.jobZone, new Date(from - 1), new Date(to), 100_000).map((d) => d.getTime()));
  const actual: number[] = [];
  for (const r of runs) {
    const t = Math.floor(r.instant.getTime() / MS_MIN) * MS_MIN;
    if (t < lo || t > hi) continue;
    if (fireSet ? fireSet.has(t) : isFireTime(p.spec, p.jobZone, r.instant)) actual.push(t);
  }
  actual.sort((a, b) => a - b);
  return { expected, actual, starts: runs.length };
}

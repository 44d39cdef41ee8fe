import { describe, expect, it } from 'vitest';
import { parseCron } from '../../src/schedule/cron.js';
import { simulateDebianCron } from '../../src/schedule/debian-cron.js';
import { firesBetween } from '../../src/schedule/fires.js';
import { hostLineFields, translateSchedule } from '../../src/scheduler/cronline/translate.js';
import { prepare, simulateWindow } from './sim.js';

const spec = (s: string) => {
  const r = parseCron(s);
  if (!r.ok) throw new Error(s);
  return r.value;
};
const lines = (s: string, job: string, host: string): string[] => translateSchedule(spec(s), job, host).map(hostLineFields);

describe('scheduler/cronline/translate', () => {
  it.each`
    schedule            | job                      | host                  | want
    ${'*/15 9-17 * * 1-5'} | ${'UTC'}              | ${'UTC'}              | ${['0-45/15 9-17 * * 1-5']}
    ${'0 12 */2 * 1'}   | ${'UTC'}                 | ${'UTC'}              | ${['0 12 1-31/2 * 1']}
    ${'30 9 * * *'}     | ${'Asia/Kolkata'}        | ${'UTC'}              | ${['0 4 * * *']}
    ${'0 2 * * *'}      | ${'America/New_York'}    | ${'America/New_York'} | ${['*/60 2 * * *', '0 3 * 3 *']}
    ${'30 2 * * *'}     | ${'America/New_York'}    | ${'America/New_York'} | ${['30 2 * * *', '30 3 * 3 *']}
    ${'* * * * *'}      | ${'Australia/Lord_Howe'} | ${'Europe/Berlin'}    | ${['* * * * *']}
  `('$schedule in $job on a $host host -> $want', ({ schedule, job, host, want }) => {
    expect(lines(schedule, job, host)).toEqual(want);
  });

  it('uses a wildcard line where a UTC job falls in a New York host second pass', () => {
    // 06:30 UTC on 2026-11-01 is 01:30 EST, the second pass: Debian runs only wildcard lines there.
    const got = lines('30 6 * * *', 'UTC', 'America/New_York');

    expect(got.some((l) => l.startsWith('*/60,30 1 '))).toBe(true);
    const r = simulateWindow(prepare('30 6 * * *', 'UTC', 'America/New_York'), Date.UTC(2026, 10, 1), Date.UTC(2026, 10, 2));
    expect(r.actual).toEqual([Date.UTC(2026, 10, 1, 6, 30)]);
  });

  it('a naive copy of the schedule is wrong on Debian (the control the fidelity test relies on)', () => {
    // The job's own fields in the host crontab, as a tool without translation would write them.
    const naive = (s: string, host: string, from: number, to: number): number[] =>
      simulateDebianCron([s], host, new Date(from), new Date(to)).map((r) => Math.floor(r.instant.getTime() / 60_000) * 60_000);
    const day = Date.UTC(2026, 2, 8);

    // Spring forward in New York: Debian runs 02:30 at 03:00 (catch-up), §2a says 03:30.
    expect(naive('30 2 * * *', 'America/New_York', day, day + 86_400_000)).toEqual([Date.UTC(2026, 2, 8, 7, 0)]);
    expect(firesBetween('30 2 * * *', 'America/New_York', new Date(day), new Date(day + 86_400_000)).map((d) => d.getTime())).toEqual([Date.UTC(2026, 2, 8, 7, 30)]);
    // `*/2` day of month: Debian reads it as unrestricted (AND), §2a as restricted (OR).
    const monday = Date.UTC(2026, 2, 2); // a Monday, day 2 (even)
    expect(naive('0 12 */2 * 1', 'UTC', monday, monday + 86_400_000)).toEqual([]);
    expect(firesBetween('0 12 */2 * 1', 'UTC', new Date(monday), new Date(monday + 86_400_000))).toHaveLength(1);
  });

  it('returns no line for a day set that never matches', () => {
    expect(lines('0 0 * 2 *', 'UTC', 'UTC')).toEqual(['0 0 * 2 *']);
    expect(translateSchedule(spec('0 0 31 2 *'), 'UTC', 'UTC').every((l) => l.days.months !== 0)).toBe(true);
  });
});

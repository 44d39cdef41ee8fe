import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';

import { CronsyncError } from '../../src/errors.js';
import { parseCron } from '../../src/schedule/cron.js';
import { firesBetween, firstFire, isFireTime, neverFires, nextFires } from '../../src/schedule/fires.js';

/** Fires as "UTC instant = local wall time" strings, for readable assertions. */
function fires(expr: string, zone: string, from: string, to: string): string[] {
  const fmt = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, dateStyle: 'short', timeStyle: 'short' });
  return firesBetween(expr, zone, new Date(from), new Date(to)).map((d) => `${d.toISOString().slice(0, 16)}Z=${fmt.format(d)}`);
}

function take(expr: string, zone: string, from: string, n: number): Date[] {
  const out: Date[] = [];
  for (const d of nextFires(expr, zone, new Date(from))) {
    out.push(d);
    if (out.length >= n) break;
  }
  return out;
}

describe('schedule/fires ordinary time', () => {
  it('fires on the wall clock of the zone, strictly after from', () => {
    expect(fires('0 9 * * *', 'Europe/Berlin', '2026-01-05T08:00:00Z', '2026-01-06T12:00:00Z')).toEqual([
      '2026-01-06T08:00Z=2026-01-06 09:00',
    ]);
    expect(firstFire('0 9 * * *', 'UTC', new Date('2026-01-05T09:00:00Z'))?.toISOString()).toBe('2026-01-06T09:00:00.000Z');
  });

  it('uses either-match only when both day fields are restricted', () => {
    const mondaysOr13th = fires('0 0 13 * MON', 'UTC', '2026-04-01T00:00:00Z', '2026-04-30T00:00:00Z');

    expect(mondaysOr13th.map((s) => s.slice(0, 10))).toEqual(['2026-04-06', '2026-04-13', '2026-04-20', '2026-04-27']);
    expect(fires('0 0 */10 * *', 'UTC', '2026-03-31T12:00:00Z', '2026-04-30T00:00:00Z')).toHaveLength(3);
  });
});

describe('schedule/fires spring forward (rule 3)', () => {
  it('shifts 02:30 in New York by the one-hour gap', () => {
    expect(fires('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z')).toEqual([
      '2026-03-08T07:30Z=2026-03-08 03:30',
      '2026-03-09T06:30Z=2026-03-09 02:30',
    ]);
  });

  it('fires once when the shifted minute coincides with a real fire', () => {
    expect(fires('30 2,3 * * *', 'America/New_York', '2026-03-08T00:00:00Z', '2026-03-08T12:00:00Z')).toEqual([
      '2026-03-08T07:30Z=2026-03-08 03:30',
    ]);
  });

  it('shifts 02:15 on Lord Howe by its 30-minute gap to 02:45', () => {
    expect(fires('15 2 * * *', 'Australia/Lord_Howe', '2026-10-02T12:00:00Z', '2026-10-04T12:00:00Z')).toEqual([
      '2026-10-02T15:45Z=2026-10-03 02:15',
      '2026-10-03T15:45Z=2026-10-04 02:45',
    ]);
  });

  it('keeps every 15 minutes across Lord Howe spring forward without duplicates', () => {
    const got = fires('*/15 * * * *', 'Australia/Lord_Howe', '2026-10-03T15:00:00Z', '2026-10-03T16:15:00Z');

    expect(got).toEqual([
      '2026-10-03T15:15Z=2026-10-04 01:45',
      '2026-10-03T15:30Z=2026-10-04 02:30', // 02:00 shifted, and the real 02:30: once
      '2026-10-03T15:45Z=2026-10-04 02:45', // 02:15 shifted, and the real 02:45: once
      '2026-10-03T16:00Z=2026-10-04 03:00',
      '2026-10-03T16:15Z=2026-10-04 03:15',
    ]);
  });

  it('handles a gap at midnight (America/Havana)', () => {
    expect(fires('30 0 * * *', 'America/Havana', '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z')).toEqual([
      '2026-03-08T05:30Z=2026-03-08 01:30',
      '2026-03-09T04:30Z=2026-03-09 00:30',
    ]);
  });
});

describe('schedule/fires a skipped day (Pacific/Apia, 2011-12-30)', () => {
  it('shifts the missing day by 24 hours and merges it with the real next day', () => {
    expect(fires('0 12 * * *', 'Pacific/Apia', '2011-12-28T12:00:00Z', '2012-01-01T12:00:00Z')).toEqual([
      '2011-12-28T22:00Z=2011-12-28 12:00',
      '2011-12-29T22:00Z=2011-12-29 12:00',
      '2011-12-30T22:00Z=2011-12-31 12:00', // 30 Dec never existed; shifted onto 31 Dec 12:00, once
      '2011-12-31T22:00Z=2012-01-01 12:00',
    ]);
  });
});

describe('schedule/fires fall back (rule 4)', () => {
  it('fires a fixed hour only in the first pass (New York)', () => {
    expect(fires('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', '2026-11-01T12:00:00Z')).toEqual([
      '2026-11-01T05:30Z=2026-11-01 01:30',
    ]);
  });

  it('fires a `*` hour in both passes, keeping 15-minute spacing (Lord Howe)', () => {
    const got = take('*/15 * * * *', 'Australia/Lord_Howe', '2026-04-04T14:00:00Z', 12);
    const gaps = got.slice(1).map((d, i) => (d.getTime() - got[i]!.getTime()) / 60_000);

    expect(gaps.every((g) => g === 15)).toBe(true);
  });

  it('does not repeat forever and fires both passes in Pacific/Chatham', () => {
    const got = take('*/15 * * * *', 'Pacific/Chatham', '2026-04-04T13:00:00Z', 200);
    const iso = got.map((d) => d.toISOString());

    expect(new Set(iso).size).toBe(200);
    expect(got[199]!.getTime() - got[0]!.getTime()).toBe(199 * 15 * 60_000);
    const fmt = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Pacific/Chatham', dateStyle: 'short', timeStyle: 'short' });
    const walls = got.map((d) => fmt.format(d));
    expect(walls.filter((w) => w === '2026-04-05 03:00')).toHaveLength(2); // 03:00 shown twice, both fire
  });

  it('iterates Lord Howe across April 2026 without throwing', () => {
    const daily = firesBetween('0 1 * * *', 'Australia/Lord_Howe', new Date('2026-04-01T00:00:00Z'), new Date('2026-04-30T00:00:00Z'));
    const hourly = firesBetween('0 * * * *', 'Australia/Lord_Howe', new Date('2026-04-01T00:00:00Z'), new Date('2026-04-30T00:00:00Z'));

    expect(daily).toHaveLength(29);
    // 29 days x 24 hours less the start, plus the extra wall hour replayed by the fall-back.
    expect(hourly.length).toBeGreaterThan(690);
    expect(new Set(hourly.map((d) => d.getTime())).size).toBe(hourly.length);
  });

  it('does not replay 00:xx after a fall-back at midnight (America/Havana), unlike cron-parser', () => {
    const ours = fires('30 0 * * *', 'America/Havana', '2026-10-31T12:00:00Z', '2026-11-02T12:00:00Z');
    const it2 = CronExpressionParser.parse('30 0 * * *', { currentDate: new Date('2026-10-31T12:00:00Z'), tz: 'America/Havana' });
    const theirs = [it2.next(), it2.next()].map((d) => d.toDate().toISOString().slice(0, 16));

    expect(ours).toEqual(['2026-11-01T04:30Z=2026-11-01 00:30', '2026-11-02T05:30Z=2026-11-02 00:30']);
    expect(theirs).toContain('2026-11-01T05:30'); // the second pass we deliberately skip
  });
});

describe('schedule/fires bounds and helpers', () => {
  it('finds Feb 29 across 2100, which is not a leap year', () => {
    expect(firstFire('0 0 29 2 *', 'UTC', new Date('2097-01-01T00:00:00Z'))?.toISOString()).toBe('2104-02-29T00:00:00.000Z');
  });

  it.each([
    { expr: '0 0 31 2 *', never: true },
    { expr: '0 0 30 2 *', never: true },
    { expr: '0 0 31 4,6,9,11 *', never: true },
    { expr: '0 0 31 2 1', never: false },
    { expr: '0 0 29 2 *', never: false },
    { expr: '@yearly', never: false },
  ])('neverFires($expr) = $never', ({ expr, never }) => {
    expect(neverFires(expr, 'Europe/London')).toBe(never);
  });

  it('ends the iterator for a schedule that never fires', () => {
    expect([...nextFires('0 0 31 2 *', 'UTC', new Date('2026-01-01T00:00:00Z'))]).toEqual([]);
  });

  it('agrees with the iterator in isFireTime, including shifted and repeated minutes', () => {
    const spec = parseCron('*/30 1-3 * * *');
    if (!spec.ok) throw new Error('parse');

    expect(isFireTime(spec.value, 'America/New_York', new Date('2026-03-08T07:30:00Z'))).toBe(true); // 02:30 -> 03:30 EDT
    expect(isFireTime(spec.value, 'America/New_York', new Date('2026-03-08T07:30:42Z'))).toBe(true); // same minute
    expect(isFireTime(spec.value, 'America/New_York', new Date('2026-03-08T07:15:00Z'))).toBe(false);
    expect(isFireTime(spec.value, 'America/New_York', new Date('2026-11-01T05:30:00Z'))).toBe(true); // 01:30 EDT
    expect(isFireTime(spec.value, 'America/New_York', new Date('2026-11-01T06:30:00Z'))).toBe(false); // 01:30 EST, 2nd pass
  });

  it('rejects an invalid schedule or zone with a CronsyncError', () => {
    expect(() => firstFire('0 0 L * *', 'UTC', new Date())).toThrow(CronsyncError);
    expect(() => firstFire('0 0 * * *', 'Mars/Olympus', new Date())).toThrow(/unknown time zone/);
    expect(() => isFireTime('0 0 * * *', '', new Date())).toThrow(CronsyncError);
  });
});

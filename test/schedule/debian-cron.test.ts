import { describe, expect, it } from 'vitest';

import { simulateDebianCron, toDebianEntry } from '../../src/schedule/debian-cron.js';
import { firesBetween } from '../../src/schedule/fires.js';

const NY = 'America/New_York';
const iso = (d: Date): string => d.toISOString();

describe('schedule/debian-cron', () => {
  it('runs a fixed-time job once, right after a spring-forward gap that skipped it', () => {
    const runs = simulateDebianCron(['0 2 * * *'], NY, new Date('2026-03-07T12:00:00Z'), new Date('2026-03-09T12:00:00Z'));

    expect(runs.map((r) => [iso(r.instant), r.reason])).toEqual([
      ['2026-03-08T07:00:01.000Z', 'dst-forward'], // 03:00:01 EDT: 02:00 never happened
      ['2026-03-09T06:00:01.000Z', 'normal'],
    ]);
  });

  it('runs each skipped matching minute, 10 s apart, and wildcard jobs only at the new time', () => {
    const runs = simulateDebianCron(['0,30 2 * * *', '*/30 * * * *'], NY, new Date('2026-03-08T06:50:00Z'), new Date('2026-03-08T07:05:00Z'));

    expect(runs.map((r) => [r.entryIndex, iso(r.instant)])).toEqual([
      [1, '2026-03-08T07:00:01.000Z'], // wildcard job for 03:00 EDT
      [0, '2026-03-08T07:00:11.000Z'], // 02:00, caught up
      [0, '2026-03-08T07:00:21.000Z'], // 02:30, caught up
    ]);
  });

  it('does not repeat fixed-time jobs at fall-back but repeats wildcard jobs', () => {
    const runs = simulateDebianCron(['30 1 * * *', '*/15 * * * *'], NY, new Date('2026-11-01T04:50:00Z'), new Date('2026-11-01T07:10:00Z'));

    const fixed = runs.filter((r) => r.entryIndex === 0).map((r) => iso(r.instant));
    const wild = runs.filter((r) => r.entryIndex === 1);
    expect(fixed).toEqual(['2026-11-01T05:30:01.000Z']); // 01:30 EDT only
    expect(wild).toHaveLength(9); // 01:00..01:45 twice, then 02:00 EST
    expect(wild.filter((r) => r.reason === 'dst-back')).toHaveLength(4);
  });

  it('runs 0 2 * * * once on the fall-back day', () => {
    const runs = simulateDebianCron(['0 2 * * *'], NY, new Date('2026-10-31T12:00:00Z'), new Date('2026-11-01T12:00:00Z'));

    expect(runs.map((r) => iso(r.instant))).toEqual(['2026-11-01T07:00:01.000Z']);
  });

  it('classifies wildcard entries and day matching by the first character, as entry.c does', () => {
    expect(toDebianEntry('*/5 3 * * *')).toMatchObject({ wildcard: true, dayAnd: true });
    expect(toDebianEntry('0-59 3 1 * 1')).toMatchObject({ wildcard: false, dayAnd: false });
    expect(toDebianEntry('@hourly')).toMatchObject({ wildcard: true });
    expect(toDebianEntry('@daily')).toMatchObject({ wildcard: false });
  });

  it('reads 0 12 */2 * 1 as odd days AND Mondays, unlike SPEC §2a (odd days OR Mondays)', () => {
    const from = new Date('2026-03-01T00:00:00Z');
    const to = new Date('2026-04-01T00:00:00Z');

    const debian = simulateDebianCron(['0 12 */2 * 1'], 'UTC', from, to).map((r) => r.instant.toISOString().slice(0, 10));
    const spec = firesBetween('0 12 */2 * 1', 'UTC', from, to).map((d) => d.toISOString().slice(0, 10));

    expect(debian).toEqual(['2026-03-09', '2026-03-23']);
    expect(spec).toHaveLength(16 + 5 - 2);
  });

  it('runs ordinary minutes 1 s after the minute in other zones', () => {
    const runs = simulateDebianCron(['0 9 * * *'], 'Europe/Berlin', new Date('2026-06-01T00:00:00Z'), new Date('2026-06-03T00:00:00Z'));

    expect(runs.map((r) => iso(r.instant))).toEqual(['2026-06-01T07:00:01.000Z', '2026-06-02T07:00:01.000Z']);
  });
});

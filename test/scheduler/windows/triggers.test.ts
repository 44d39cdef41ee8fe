import { describe, expect, it } from 'vitest';
import { firesBetween } from '../../../src/schedule/fires.js';
import { daySchedules, jobTriggers } from '../../../src/scheduler/windows/triggers.js';
import { coverExactly, valuesOf } from '../../../src/scheduler/windows/progressions.js';
import { MAX_TRIGGERS } from '../../../src/scheduler/windows/types.js';
import type { DatedTriggerSpec } from '../../../src/scheduler/windows/types.js';
import { prng, randomSchedule } from '../../schedule/random.js';

const now = new Date('2026-01-01T00:00:00Z');
const dated = (t: ReturnType<typeof jobTriggers>): DatedTriggerSpec[] => t.triggers.filter((x): x is DatedTriggerSpec => x.type === 'dated');
const startsOf = (d: DatedTriggerSpec): string[] => {
  const n = d.repetition ? Math.floor(d.repetition.durationSeconds / 60 / d.repetition.intervalMinutes) + 1 : 1;
  return Array.from({ length: n }, (_, k) => new Date(d.at + k * (d.repetition?.intervalMinutes ?? 0) * 60_000).toISOString());
};

describe('scheduler/windows/triggers', () => {
  it.each`
    schedule            | want
    ${'0 2 * * *'}      | ${[{ type: 'calendar', minuteOfDay: 120, days: { by: 'day' } }]}
    ${'*/15 * * * *'}   | ${[{ type: 'calendar', minuteOfDay: 0, days: { by: 'day' }, repetition: { intervalMinutes: 15, durationSeconds: 95 * 15 * 60 + 30 } }]}
    ${'30 6 * * 1-5'}   | ${[{ type: 'calendar', minuteOfDay: 390, days: { by: 'week', daysOfWeek: [1, 2, 3, 4, 5] } }]}
    ${'0 0 1,15 * 1'}   | ${[{ type: 'calendar', minuteOfDay: 0, days: { by: 'month', daysOfMonth: [1, 15], months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] } }, { type: 'calendar', minuteOfDay: 0, days: { by: 'week', daysOfWeek: [1] } }]}
    ${'0 12 * 2 1'}     | ${[{ type: 'calendar', minuteOfDay: 720, days: { by: 'monthDayOfWeek', weeks: [1, 2, 3, 4, 'Last'], daysOfWeek: [1], months: [2] } }]}
  `('UTC job on a UTC host: $schedule is exact', ({ schedule, want }) => {
    const t = jobTriggers(schedule as string, 'UTC', 'UTC', { now });

    expect(t.triggers).toEqual(want);
    expect(t.fidelity).toBe('exact');
  });

  it('adds a dated UTC trigger for the shifted gap fire on a DST host (02:30 New York → 03:30 EDT)', () => {
    const t = jobTriggers('30 2 * * *', 'America/New_York', 'America/New_York', { now });

    expect(t.triggers.filter((x) => x.type === 'calendar')).toEqual([{ type: 'calendar', minuteOfDay: 150, days: { by: 'day' } }]);
    expect(dated(t).flatMap(startsOf)).toEqual(['2026-03-08T07:30:00.000Z']);
  });

  it('covers both passes of an hour-* job at fall-back with dated triggers that never run across the change', () => {
    const t = jobTriggers('*/30 * * * *', 'Europe/Berlin', 'Europe/Berlin', { now });
    const fall = Date.parse('2026-10-25T01:00:00Z');
    const starts = dated(t).flatMap(startsOf);

    // Both passes of 02:00 and 02:30 (CEST then CET) are started by dated triggers.
    for (const s of ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z']) expect(starts).toContain(s);
    for (const d of dated(t)) {
      const end = d.at + (d.repetition?.durationSeconds ?? 0) * 1000;
      expect(d.at >= fall || end < fall).toBe(true);
    }
  });

  it('every dated start is a fire, and every fire of a transition span is started', () => {
    const t = jobTriggers('*/7 1-3 * * *', 'America/New_York', 'America/New_York', { now });
    const starts = new Set(dated(t).flatMap(startsOf));
    const spring = firesBetween('*/7 1-3 * * *', 'America/New_York', new Date('2026-03-08T07:00:00Z'), new Date('2026-03-08T08:00:00Z')).map((d) => d.toISOString());

    expect(spring.length).toBeGreaterThan(0);
    for (const f of spring) expect(starts).toContain(f);
    const all = firesBetween('*/7 1-3 * * *', 'America/New_York', now, new Date('2027-01-02T00:00:00Z')).map((d) => d.toISOString());
    for (const s of starts) expect(all).toContain(s);
  });

  it('day of month OR day of week becomes two schedules; months restrict both', () => {
    expect(daySchedules({ months: 0b100, all: false, dom: 1, dow: 0b10 })).toEqual([
      { by: 'month', daysOfMonth: [1], months: [3] },
      { by: 'monthDayOfWeek', weeks: [1, 2, 3, 4, 'Last'], daysOfWeek: [1], months: [3] },
    ]);
  });

  it('covers a set of minutes exactly with progressions', () => {
    const values = [0, 7, 14, 21, 28, 35, 42, 49, 56, 60, 67, 1439];
    const cover = coverExactly(values);

    expect(cover.flatMap(valuesOf).sort((a, b) => a - b)).toEqual(values);
  });

  it('fits 1,000 random schedules in at most 48 triggers in every zone pair', { timeout: 60_000 }, () => {
    const rand = prng(10);
    const zones = ['UTC', 'America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
    const hosts = ['UTC', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe'];
    const counts: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = randomSchedule(rand, i % 3 === 0);
      const t = jobTriggers(s, zones[i % zones.length]!, hosts[i % hosts.length]!, { now });
      counts.push(t.triggers.length);
      for (const x of t.triggers) if (x.repetition) expect(x.repetition.intervalMinutes).toBeGreaterThanOrEqual(1);
    }
    counts.sort((a, b) => a - b);

    expect(counts[counts.length - 1]).toBeLessThanOrEqual(MAX_TRIGGERS);
    console.log(`triggers per task over 1,000 random jobs: median ${counts[500]}, p99 ${counts[990]}, max ${counts[999]}`);
  });
});

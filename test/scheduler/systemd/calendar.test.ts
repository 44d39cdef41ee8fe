import { describe, expect, it } from 'vitest';
import { parseCron } from '../../../src/schedule/cron.js';
import type { CronSpec } from '../../../src/schedule/cron.js';
import { calendarField, calendarLines, datedLines, recurringLines, weekdayField } from '../../../src/scheduler/systemd/calendar.js';

const spec = (s: string): CronSpec => {
  const r = parseCron(s);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const at = (iso: string): number => Date.parse(iso);

describe('scheduler/systemd/calendar', () => {
  it.each`
    schedule                 | zone                  | want
    ${'0 2 * * *'}           | ${'America/New_York'} | ${['*-*-* 02:00:00 America/New_York']}
    ${'*/15 * * * *'}        | ${'UTC'}              | ${['*-*-* *:00..45/15:00 UTC']}
    ${'5-55/10 1-4 * * *'}   | ${'Etc/UTC'}          | ${['*-*-* 01..04:05..55/10:00 UTC']}
    ${'0 9 * * MON-FRI'}     | ${'Europe/Berlin'}    | ${['Mon..Fri *-*-* 09:00:00 Europe/Berlin']}
    ${'0 9 * * */2'}         | ${'UTC'}              | ${['Tue,Thu,Sat,Sun *-*-* 09:00:00 UTC']}
    ${'0 9 * * 0,6,7'}       | ${'UTC'}              | ${['Sat,Sun *-*-* 09:00:00 UTC']}
    ${'0 12 */2 * 1'}        | ${'UTC'}              | ${['Mon *-*-* 12:00:00 UTC', '*-*-01..31/2 12:00:00 UTC']}
    ${'0 0 1,15 2-4 *'}      | ${'Asia/Kolkata'}     | ${['*-02..04-01,15 00:00:00 Asia/Kolkata']}
    ${'30 6 1-7 * 1'}        | ${'UTC'}              | ${['Mon *-*-* 06:30:00 UTC', '*-*-01..07 06:30:00 UTC']}
    ${'@monthly'}            | ${'UTC'}              | ${['*-*-01 00:00:00 UTC']}
    ${'0 0 29 2 *'}          | ${'UTC'}              | ${['*-02-29 00:00:00 UTC']}
  `('$schedule in $zone → $want', ({ schedule, zone, want }: { schedule: string; zone: string; want: string[] }) => {
    expect(recurringLines(spec(schedule), zone)).toEqual(want);
  });

  it('writes fields as *, one progression, or runs and values', () => {
    expect(calendarField([0, 1, 2, 3], 0, 3)).toBe('*');
    expect(calendarField([1, 2, 3, 7, 9, 10], 0, 59)).toBe('1..3,7,9,10');
    expect(calendarField([3, 10, 17], 0, 59)).toBe('3..17/7');
    expect(weekdayField([0, 1, 2, 3, 5])).toBe('Mon..Wed,Fri,Sun');
  });

  it('names every §2a fire of the coming DST changes in UTC: the shifted gap, both passes of a fall-back', () => {
    const now = at('2026-03-01T00:00:00Z');

    expect(calendarLines(spec('30 2 * * *'), 'Europe/Berlin', now).dated).toEqual(['2026-03-29 01:30:00 UTC', '2026-10-25 00:30:00 UTC']);
    // A spring-forward day is dated from the gap to its local midnight (22:00Z): see the next test.
    expect(calendarLines(spec('*/15 * * * *'), 'Europe/Berlin', now).dated).toEqual([
      ...Array.from({ length: 21 }, (_, i) => `2026-03-29 ${String(i + 1).padStart(2, '0')}:00..45/15:00 UTC`),
      '2026-10-25 00:00..45/15:00 UTC',
      '2026-10-25 01:00..45/15:00 UTC',
    ]);
    expect(calendarLines(spec('15 2 * * *'), 'Australia/Lord_Howe', at('2026-09-01T00:00:00Z')).dated).toContain('2026-10-03 15:45:00 UTC');
  });

  it('dates the rest of a spring-forward day too: systemd may skip it after a value in the gap (Europe/Dublin)', () => {
    const dated = calendarLines(spec('0 1-3 * * 0'), 'Europe/Dublin', at('2027-03-01T00:00:00Z')).dated;

    // 01:00 GMT does not exist on 2027-03-28: shifted to 01:00Z (§2a rule 3); 03:00 IST is 02:00Z.
    expect(dated.filter((l) => l.startsWith('2027-03-28'))).toEqual(['2027-03-28 01:00:00 UTC', '2027-03-28 02:00:00 UTC']);
  });

  it('covers transitions from two days before the render time to at least a year after it, none for zones without DST', () => {
    const dated = (now: string): string[] => calendarLines(spec('30 2 * * *'), 'Europe/Berlin', at(now)).dated;

    expect(dated('2026-03-30T12:00:00Z')[0]).toBe('2026-03-29 01:30:00 UTC');
    expect(dated('2026-04-01T12:00:00Z')).toEqual(['2026-10-25 00:30:00 UTC', '2027-03-28 01:30:00 UTC']);
    expect(calendarLines(spec('30 2 * * *'), 'Asia/Kolkata', at('2026-03-01T00:00:00Z')).dated).toEqual([]);
    expect(calendarLines(spec('30 2 * * *'), 'UTC', at('2026-03-01T00:00:00Z')).dated).toEqual([]);
  });

  it('groups dated instants one line per UTC hour', () => {
    expect(datedLines([at('2026-10-25T01:59:00Z'), at('2026-10-25T01:00:00Z'), at('2026-10-25T02:00:00Z')])).toEqual(['2026-10-25 01:00,59:00 UTC', '2026-10-25 02:00:00 UTC']);
  });
});

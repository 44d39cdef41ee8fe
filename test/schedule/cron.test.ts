import { describe, expect, it } from 'vitest';

import { dayMatches, parseCron } from '../../src/schedule/cron.js';

function values(expr: string) {
  const r = parseCron(expr);
  if (!r.ok) throw new Error(`unexpected rejection of ${expr}: ${r.error.message}`);
  return r.value;
}

describe('schedule/cron valid', () => {
  it.each([
    { expr: '* * * * *', minutes: 60, hours: 24, doms: 31, months: 12, dows: [0, 1, 2, 3, 4, 5, 6] },
    { expr: '*/15 9-17 * * MON-FRI', minutes: 4, hours: 9, doms: 31, months: 12, dows: [1, 2, 3, 4, 5] },
    { expr: '0 0 1,15 jan-mar/2 *', minutes: 1, hours: 1, doms: 2, months: 2, dows: [0, 1, 2, 3, 4, 5, 6] },
    { expr: '5-55/10 */6 */2 * 7', minutes: 6, hours: 4, doms: 16, months: 12, dows: [0] },
    { expr: '0 0 * * 0,7', minutes: 1, hours: 1, doms: 31, months: 12, dows: [0] },
    { expr: '0 0 * * 5-7', minutes: 1, hours: 1, doms: 31, months: 12, dows: [0, 5, 6] },
    { expr: '  00  05\t* DEC Sun ', minutes: 1, hours: 1, doms: 31, months: 1, dows: [0] },
    { expr: '*/60 * * * *', minutes: 1, hours: 24, doms: 31, months: 12, dows: [0, 1, 2, 3, 4, 5, 6] },
  ])('$expr', ({ expr, minutes, hours, doms, months, dows }) => {
    const v = values(expr);

    expect(v.minutes).toHaveLength(minutes);
    expect(v.hours).toHaveLength(hours);
    expect(v.daysOfMonth).toHaveLength(doms);
    expect(v.months).toHaveLength(months);
    expect(v.daysOfWeek).toEqual(dows);
  });

  it('expands macros and keeps the normalised source', () => {
    expect(values('@hourly')).toMatchObject({ source: '@hourly', fields: ['0', '*', '*', '*', '*'], hourIsStar: true });
    expect(values('@daily').fields).toEqual(['0', '0', '*', '*', '*']);
    expect(values('@midnight').fields).toEqual(['0', '0', '*', '*', '*']);
    expect(values('@weekly')).toMatchObject({ fields: ['0', '0', '*', '*', '0'], dowRestricted: true, domRestricted: false });
    expect(values('@monthly').fields).toEqual(['0', '0', '1', '*', '*']);
    expect(values('@yearly').fields).toEqual(['0', '0', '1', '1', '*']);
    expect(values('@annually').fields).toEqual(['0', '0', '1', '1', '*']);
    expect(values(' 0  9 * *   1-5 ').source).toBe('0 9 * * 1-5');
  });

  it('flags restricted day fields and the star hour per SPEC §2a', () => {
    expect(values('0 12 */2 * 1')).toMatchObject({ domRestricted: true, dowRestricted: true, hourIsStar: false });
    expect(values('0 * * * *')).toMatchObject({ domRestricted: false, dowRestricted: false, hourIsStar: true });
    expect(values('0 */1 * * *').hourIsStar).toBe(false);
    expect(values('0 0-23 1-31 * 0-7')).toMatchObject({ domRestricted: true, dowRestricted: true });
  });

  it('matches days with either-match only when both day fields are restricted', () => {
    const either = values('0 0 13 * FRI');
    const both = values('0 0 */2 * *');

    expect(dayMatches(either, 3, 13, 5)).toBe(true); // the 13th (a Friday)
    expect(dayMatches(either, 3, 14, 5)).toBe(true); // a Friday
    expect(dayMatches(either, 3, 14, 6)).toBe(false);
    expect(dayMatches(both, 3, 3, 2)).toBe(true);
    expect(dayMatches(both, 3, 4, 2)).toBe(false);
    expect(dayMatches(values('0 0 * 2 *'), 3, 1, 0)).toBe(false);
  });
});

describe('schedule/cron invalid', () => {
  it.each([
    { expr: '', rule: 'cron-fields', offset: 0 },
    { expr: '* * * *', rule: 'cron-fields', offset: 0 },
    { expr: '0 * * * * *', rule: 'cron-fields', offset: 0 },
    { expr: '0 0 * * * * 2026', rule: 'cron-fields', offset: 0 },
    { expr: '0 0 L * *', rule: 'cron-unsupported', offset: 4 },
    { expr: '0 0 * * 5L', rule: 'cron-unsupported', offset: 9 },
    { expr: '0 0 15W * *', rule: 'cron-unsupported', offset: 6 },
    { expr: '0 0 LW * *', rule: 'cron-unsupported', offset: 4 },
    { expr: '0 0 * * MON#2', rule: 'cron-unsupported', offset: 11 },
    { expr: 'H * * * *', rule: 'cron-unsupported', offset: 0 },
    { expr: '0 0 ? * MON', rule: 'cron-unsupported', offset: 4 },
    { expr: '@reboot', rule: 'cron-reboot', offset: 0 },
    { expr: '@every 5m', rule: 'cron-syntax', offset: 0 },
    { expr: '@DAILY', rule: 'cron-syntax', offset: 0 },
    { expr: '@daily 0', rule: 'cron-fields', offset: 7 },
    { expr: 'x * * * *', rule: 'cron-syntax', offset: 0 },
    { expr: '0 0 * * Monday', rule: 'cron-syntax', offset: 8 },
    { expr: '0 MON * * *', rule: 'cron-syntax', offset: 2 },
    { expr: '5/15 * * * *', rule: 'cron-syntax', offset: 0 },
    { expr: '0 0 * * 1,', rule: 'cron-syntax', offset: 9 },
    { expr: '0 0 1-* * *', rule: 'cron-syntax', offset: 6 },
    { expr: '0 0 * * */x', rule: 'cron-syntax', offset: 10 },
    { expr: '0 0 1\u00a0* * *', rule: 'cron-syntax', offset: 5 },
    { expr: '60 * * * *', rule: 'cron-range', offset: 0 },
    { expr: '0 24 * * *', rule: 'cron-range', offset: 2 },
    { expr: '0 0 0 * *', rule: 'cron-range', offset: 4 },
    { expr: '0 0 32 * *', rule: 'cron-range', offset: 4 },
    { expr: '0 0 * 13 *', rule: 'cron-range', offset: 6 },
    { expr: '0 0 * 0 *', rule: 'cron-range', offset: 6 },
    { expr: '0 0 * * 8', rule: 'cron-range', offset: 8 },
    { expr: '30-10 * * * *', rule: 'cron-range', offset: 0 },
    { expr: '0 0 * * FRI-MON', rule: 'cron-range', offset: 8 },
    { expr: '*/0 * * * *', rule: 'cron-range', offset: 2 },
    { expr: '0 */25 * * *', rule: 'cron-range', offset: 4 },
    { expr: '99999 * * * *', rule: 'cron-range', offset: 0 },
  ])('$expr -> $rule at $offset', ({ expr, rule, offset }) => {
    const r = parseCron(expr);

    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.rule).toBe(rule);
    expect(r.error.offset).toBe(offset);
    expect(r.error.length).toBeGreaterThan(0);
    expect(r.error.offset + r.error.length).toBeLessThanOrEqual(Math.max(1, expr.length));
    expect(r.error.message.length).toBeGreaterThan(10);
  });

  it('explains Debian behaviour in messages', () => {
    const hash = parseCron('0 0 * * 1#2');
    const slash = parseCron('5/15 * * * *');

    expect(!hash.ok && hash.error.message).toMatch(/Debian cron silently ignores `#N`/);
    expect(!slash.ok && slash.error.message).toMatch(/5-59\/n/);
    expect(!slash.ok && slash.error.length).toBe(4);
  });
});

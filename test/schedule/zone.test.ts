import { describe, expect, it } from 'vitest';

import {
  canonicalTimeZone, isValidTimeZone, offsetAt, offsetMinutes, toWallTime, transitionsBetween, wallMinuteInstants,
} from '../../src/schedule/zone.js';
import { ianaSpellingOf, ianaZoneNames, timeZoneProblem } from '../../src/schedule/zone-names.js';

describe('schedule/zone', () => {
  it.each([
    { zone: 'UTC', ok: true },
    { zone: 'America/New_York', ok: true },
    { zone: 'Etc/GMT+5', ok: true },
    { zone: 'EST5EDT', ok: true },
    { zone: '', ok: false },
    { zone: '+05:00', ok: false },
    { zone: 'Mars/Olympus', ok: false },
    { zone: 'America/New York', ok: false },
    { zone: 'US/Eastern', ok: true },
    { zone: 'Asia/Calcutta', ok: true },
    // Runs evaluate what ICU reads, so a job installed under this spelling keeps firing.
    { zone: 'europe/berlin', ok: true },
  ])('isValidTimeZone($zone) = $ok', ({ zone, ok }) => {
    expect(isValidTimeZone(zone)).toBe(ok);
  });

  it('canonicalises names', () => {
    expect(canonicalTimeZone('america/new_york')).toBe('America/New_York');
    expect(canonicalTimeZone('US/Eastern')).toBe('America/New_York');
    expect(canonicalTimeZone('nope')).toBeNull();
  });

  it.each([
    { zone: 'UTC', ok: true },
    { zone: 'Europe/Berlin', ok: true },
    { zone: 'US/Eastern', ok: true },
    { zone: 'Asia/Calcutta', ok: true },
    { zone: 'Asia/Kolkata', ok: true },
    { zone: 'EST5EDT', ok: true },
    // Only the database's spelling: systemd (OnCalendar=) and glibc (cron's TZ) match it exactly.
    { zone: 'europe/berlin', ok: false },
    { zone: 'utc', ok: false },
    { zone: 'US/EASTERN', ok: false },
    // ICU reads these, the tz database has no such names (US/Pacific-New and SystemV/ left it in 2020b).
    { zone: 'US/Pacific-New', ok: false },
    { zone: 'SystemV/AST4', ok: false },
    { zone: 'PST', ok: false },
    { zone: 'IST', ok: false },
    { zone: 'Factory', ok: false },
    { zone: 'posixrules', ok: false },
    { zone: 'localtime', ok: false },
    { zone: '+05:00', ok: false },
  ])('a manifest may name $zone: $ok', ({ zone, ok }) => {
    expect(timeZoneProblem(zone) === null).toBe(ok);
  });

  it.each`
    zone                 | want
    ${'Europe/Berlin'}   | ${null}
    ${'europe/berlin'}   | ${'unknown time zone "europe/berlin" (did you mean "Europe/Berlin"?)'}
    ${'utc'}             | ${'unknown time zone "utc" (did you mean "UTC"?)'}
    ${'us/eastern'}      | ${'unknown time zone "us/eastern" (did you mean "US/Eastern"?)'}
    ${'US/Pacific-New'}  | ${'unknown time zone "US/Pacific-New" (not a name of the IANA time zone database, which systemd and cron read; did you mean "America/Los_Angeles"?)'}
    ${'PST'}             | ${'unknown time zone "PST" (not a name of the IANA time zone database, which systemd and cron read; did you mean "America/Los_Angeles"?)'}
    ${'SystemV/AST4'}    | ${'unknown time zone "SystemV/AST4" (not a name of the IANA time zone database, which systemd and cron read)'}
    ${'Mars/Olympus'}    | ${'unknown time zone "Mars/Olympus" (use an IANA name such as UTC or America/New_York)'}
    ${''}                | ${'unknown time zone "" (use an IANA name such as UTC or America/New_York)'}
  `('timeZoneProblem($zone) = $want', ({ zone, want }: { zone: string; want: string | null }) => {
    expect(timeZoneProblem(zone)).toBe(want);
  });

  it('lets a manifest name every zone ICU has under its own name, and ICU knows every listed name', () => {
    const listed = Intl.supportedValuesOf('timeZone');

    expect(listed.filter((z) => timeZoneProblem(z) !== null)).toEqual([]);
    expect(ianaZoneNames().size).toBe(597);
    expect([...ianaZoneNames()].filter((z) => !isValidTimeZone(z))).toEqual([]);
    expect(ianaSpellingOf('america/argentina/buenos_aires')).toBe('America/Argentina/Buenos_Aires');
    expect(ianaSpellingOf('Europe/Berlin')).toBeUndefined();
    expect(ianaSpellingOf('nope')).toBeUndefined();
  });

  it('finds the 2026 transitions of Lord Howe to the minute', () => {
    const trs = transitionsBetween('Australia/Lord_Howe', Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1));

    expect(trs.map((t) => [new Date(t.at).toISOString(), t.before / 60_000, t.after / 60_000])).toEqual([
      ['2026-04-04T15:00:00.000Z', 660, 630], // 2026-04-05 02:00 -> 01:30
      ['2026-10-03T15:30:00.000Z', 630, 660], // 2026-10-04 02:00 -> 02:30
    ]);
  });

  it('agrees with Intl at every hour of a year', () => {
    const f = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'longOffset' });
    for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 3_600_000 * 7) {
      const name = f.formatToParts(t).find((p) => p.type === 'timeZoneName')!.value; // GMT+01:00
      const m = /GMT([+-])(\d\d):(\d\d)/.exec(name)!;
      const want = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
      expect(offsetMinutes('Europe/Berlin', t)).toBe(want);
    }
  });

  it('converts wall minutes to zero, one or two instants', () => {
    expect(wallMinuteInstants('America/New_York', 2026, 3, 8, 2, 30)).toEqual([]);
    expect(wallMinuteInstants('America/New_York', 2026, 11, 1, 1, 30).map((d) => d.toISOString())).toEqual([
      '2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z',
    ]);
    expect(wallMinuteInstants('Asia/Kolkata', 2026, 6, 1, 9, 0).map((d) => d.toISOString())).toEqual(['2026-06-01T03:30:00.000Z']);
  });

  it('reads the wall clock', () => {
    expect(toWallTime('Asia/Kathmandu', new Date('2026-01-01T00:00:00Z'))).toEqual({
      year: 2026, month: 1, day: 1, hour: 5, minute: 45, second: 0, dow: 4,
    });
    expect(offsetAt('UTC', Date.UTC(2026, 5, 1))).toBe(0);
  });
});

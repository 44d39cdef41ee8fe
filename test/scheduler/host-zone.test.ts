import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SchedulerError } from '../../src/errors.js';
import { hostTimeZone, UTC_SPELLINGS } from '../../src/scheduler/types.js';

// ICU cannot name the zone when TZ is a file (`TZ=:/etc/localtime`, a common systemd setting, or
// `TZ=/usr/share/zoneinfo/…`): Intl then reports no zone while libc and cron use the file's rules.
// Falling back to UTC would shift every host line of a non-UTC host by hours.
const zoneinfo = (target: string) => (p: string): string => {
  if (p === '/etc/localtime' || p.startsWith('/usr/share/zoneinfo/')) return target;
  throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
};

describe('hostTimeZone', () => {
  it('uses the zone Intl reports', () => {
    expect(hostTimeZone({ TZ: 'Europe/Berlin' }, { intlZone: () => 'Europe/Berlin', realpath: zoneinfo('/x') })).toBe('Europe/Berlin');
  });

  it('names the zone of /etc/localtime when TZ=:/etc/localtime leaves Intl without a zone', () => {
    const zone = hostTimeZone({ TZ: ':/etc/localtime' }, { intlZone: () => undefined, realpath: zoneinfo('/usr/share/zoneinfo/America/New_York') });
    expect(zone).toBe('America/New_York');
  });

  it('names the zone of a zoneinfo path in TZ', () => {
    const zone = hostTimeZone({ TZ: ':/usr/share/zoneinfo/Australia/Lord_Howe' }, { intlZone: () => undefined, realpath: zoneinfo('/usr/share/zoneinfo/Australia/Lord_Howe') });
    expect(zone).toBe('Australia/Lord_Howe');
  });

  it('is UTC when TZ is unset and there is no /etc/localtime (libc uses UTC then)', () => {
    expect(hostTimeZone({}, { intlZone: () => undefined, realpath: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); } })).toBe('UTC');
  });

  it('refuses to guess when the zone cannot be named (a POSIX TZ rule)', () => {
    const run = () => hostTimeZone({ TZ: ':/opt/zones/custom' }, { intlZone: () => 'Etc/Unknown', realpath: (p) => p });
    expect(run).toThrow(SchedulerError);
    expect(run).toThrow(/TZ=:\/opt\/zones\/custom.*IANA/);
  });

  describe('UTC without Intl (POSIX: TZ, then /etc/localtime)', () => {
    const noIntl = (): string => {
      throw new Error('Intl asked');
    };

    it('names a UTC spelling in TZ UTC without asking Intl', () => {
      for (const tz of ['UTC', ':Etc/UTC', 'Zulu', 'Etc/GMT']) {
        expect(hostTimeZone({ TZ: tz }, { intlZone: noIntl, realpath: zoneinfo('/usr/share/zoneinfo/Europe/Berlin'), posixTz: true })).toBe('UTC');
      }
    });

    it('names /etc/localtime linked to a UTC zoneinfo file UTC without asking Intl when TZ is unset', () => {
      expect(hostTimeZone({}, { intlZone: noIntl, realpath: zoneinfo('/usr/share/zoneinfo/Etc/UTC'), posixTz: true })).toBe('UTC');
    });

    it('asks Intl for any other zone, for an empty TZ, and when /etc/localtime cannot be resolved', () => {
      const berlin = { intlZone: () => 'Europe/Berlin', realpath: zoneinfo('/usr/share/zoneinfo/Etc/UTC'), posixTz: true };
      expect(hostTimeZone({ TZ: 'Europe/Berlin' }, berlin)).toBe('Europe/Berlin');
      expect(hostTimeZone({ TZ: 'UTC0' }, berlin)).toBe('Europe/Berlin');
      expect(hostTimeZone({ TZ: '' }, berlin)).toBe('Europe/Berlin');
      expect(hostTimeZone({}, { ...berlin, realpath: zoneinfo('/usr/share/zoneinfo/Europe/Berlin') })).toBe('Europe/Berlin');
      expect(hostTimeZone({}, { ...berlin, realpath: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); } })).toBe('Europe/Berlin');
    });

    // libc reads TZ=<name> as /usr/share/zoneinfo/<name>, case and all, and runs on UTC without
    // one; ICU reads europe/berlin as Europe/Berlin, and a zone whose tzdata is not installed.
    it.each(['europe/berlin', 'Europe/Berlin', ':Europe/Berlin'])('is UTC, as for libc and cron, when TZ=%s names no zoneinfo file', (tz) => {
      const none = (p: string): string => {
        throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      };

      expect(hostTimeZone({ TZ: tz }, { intlZone: () => 'Europe/Berlin', realpath: none, posixTz: true })).toBe('UTC');
      expect(hostTimeZone({ TZ: tz }, { intlZone: () => 'Europe/Berlin', realpath: zoneinfo('/usr/share/zoneinfo/Europe/Berlin'), posixTz: true })).toBe('Europe/Berlin');
    });

    it('does not take a POSIX rule that libc applies (TZ=JST-9) for UTC, and looks in TZDIR', () => {
      const none = (p: string): string => {
        throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      };
      const only = (dir: string) => (p: string): string => (p.startsWith(`${dir}/`) ? p : none(p));

      expect(hostTimeZone({ TZ: 'JST-9' }, { intlZone: () => undefined, realpath: none, posixTz: true })).toBe('Etc/GMT-9');
      expect(hostTimeZone({ TZ: 'Europe/Berlin', TZDIR: '/etc/zoneinfo' }, { intlZone: () => 'Europe/Berlin', realpath: only('/etc/zoneinfo'), posixTz: true })).toBe('Europe/Berlin');
      expect(hostTimeZone({ TZ: 'Europe/Berlin' }, { intlZone: () => 'Europe/Berlin', realpath: only('/etc/zoneinfo'), posixTz: true })).toBe('UTC');
    });

    it.each`
      tz                                    | zone
      ${'JST-9'}                            | ${'Etc/GMT-9'}
      ${'<+05>-5'}                          | ${'Etc/GMT-5'}
      ${':<-03>3'}                          | ${'Etc/GMT+3'}
      ${'GMT-3'}                            | ${'Etc/GMT-3'}
      ${'UTC0'}                             | ${'UTC'}
      ${'<+14>-14'}                         | ${'Etc/GMT-14'}
    `('reads the fixed POSIX rule TZ=$tz as libc does, as $zone (ICU would say UTC)', ({ tz, zone }: { tz: string; zone: string }) => {
      const none = (p: string): string => {
        throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      };

      expect(hostTimeZone({ TZ: tz }, { intlZone: () => 'UTC', realpath: none, posixTz: true })).toBe(zone);
    });

    it.each(['CET-1CEST,M3.5.0,M10.5.0/3', 'IST-5:30', 'EST5EDT4', '<+15>-15'])('refuses to guess the POSIX rule TZ=%s, naming it', (tz) => {
      const none = (p: string): string => {
        throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      };

      expect(() => hostTimeZone({ TZ: tz }, { intlZone: () => 'UTC', realpath: none, posixTz: true })).toThrow(new RegExp(`^cannot tell the host's time zone: TZ=${tz.replace(/[+.]/g, '\\$&')} is a POSIX rule`));
    });

    it('never takes a zone ICU names but cannot use (GMT-03:00)', () => {
      expect(() => hostTimeZone({ TZ: '' }, { intlZone: () => 'GMT-03:00', realpath: (p) => p, posixTz: true })).toThrow(SchedulerError);
    });

    it.skipIf(process.platform === 'win32' || !spawnSync('date', ['--version']).stdout)('agrees with libc on fixed POSIX rules: the zone has the offset date(1) applies', () => {
      for (const tz of ['JST-9', '<+05>-5', 'GMT-3', '<-03>3', 'UTC0']) {
        const libc = spawnSync('date', ['-d', '2026-07-01T00:00:00Z', '+%z'], { env: { TZ: tz }, encoding: 'utf8' }).stdout.trim();
        const zone = hostTimeZone({ TZ: tz });
        const ours = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(new Date('2026-07-01T00:00:00Z')).find((x) => x.type === 'timeZoneName')?.value;
        expect({ tz, offset: ours === 'GMT' ? '+0000' : ours?.replace(/^GMT([+-]\d\d):(\d\d)$/, '$1$2') }).toEqual({ tz, offset: libc });
      }
    });

    it.skipIf(process.platform === 'win32' || !spawnSync('date', ['--version']).stdout)('agrees with libc: TZ=europe/berlin is UTC to date(1)', () => {
      const libc = spawnSync('date', ['+%z'], { env: { TZ: 'europe/berlin' }, encoding: 'utf8' }).stdout.trim();

      expect(libc).toBe('+0000');
      expect(hostTimeZone({ TZ: 'europe/berlin' })).toBe('UTC');
    });

    it('asks Intl when TZ and /etc/localtime are not what ICU reads (Windows)', () => {
      expect(hostTimeZone({ TZ: 'UTC' }, { intlZone: () => 'Europe/Berlin', realpath: zoneinfo('/usr/share/zoneinfo/Etc/UTC'), posixTz: false })).toBe('Europe/Berlin');
    });

    it.runIf(process.platform !== 'win32')('agrees with ICU: every spelling it names UTC is UTC to Intl', () => {
      const script = 'process.stdout.write(Intl.DateTimeFormat().resolvedOptions().timeZone)';
      for (const tz of [...UTC_SPELLINGS, ':UTC']) {
        const r = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, TZ: tz }, encoding: 'utf8' });
        expect({ tz, zone: r.stdout }).toEqual({ tz, zone: 'UTC' });
      }
      const here = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH }, encoding: 'utf8' }).stdout;
      expect(hostTimeZone({})).toBe(here);
    });
  });
});

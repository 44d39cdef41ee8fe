import { describe, expect, it } from 'vitest';
import { SchedulerError } from '../../src/errors.js';
import { hostTimeZone } from '../../src/scheduler/types.js';

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
});

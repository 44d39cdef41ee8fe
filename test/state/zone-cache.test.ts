/** The zone-table cache of the state dir: keyed by runtime, validated on read, safe file names. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

import { exportZoneYear } from '../../src/schedule/zone.js';
import { readZoneYear, runtimeKey, writeZoneYear, zoneYearChecksum, zoneYearPath } from '../../src/state/zone-cache.js';
import { tempStateDir } from '../shim/fixtures.js';

describe('state/zone-cache', () => {
  it('stores a year and reads it back, per zone and year', () => {
    const dir = tempStateDir();
    const data = exportZoneYear('America/New_York', 2026)!;
    expect(writeZoneYear(dir, data)).toBe(true);
    expect(readZoneYear(dir, 'America/New_York', 2026)).toEqual(data);
    expect(readZoneYear(dir, 'America/New_York', 2027)).toBeNull();
    expect(readZoneYear(dir, 'America/Chicago', 2026)).toBeNull();
    expect(zoneYearPath(dir, 'America/New_York', 2026)).toContain(`/cache/zones/${runtimeKey()}/America~New_York.2026.json`);
  });

  it('ignores a file that is corrupt, malformed, for another zone, or without its checksum', () => {
    const dir = tempStateDir();
    const path = zoneYearPath(dir, 'Europe/Berlin', 2026)!;
    mkdirSync(dirname(path), { recursive: true });
    const good = exportZoneYear('Europe/Berlin', 2026)!;
    const sum = zoneYearChecksum(good);
    const bad = ['{', 'null', JSON.stringify(good), JSON.stringify({ ...good, zone: 'Europe/Paris', sum }), JSON.stringify({ ...good, transitions: [...good.transitions].reverse(), sum })];
    for (const text of bad) {
      writeFileSync(path, text);
      expect(readZoneYear(dir, 'Europe/Berlin', 2026), text).toBeNull();
    }
    writeFileSync(path, JSON.stringify({ ...good, sum }));
    expect(readZoneYear(dir, 'Europe/Berlin', 2026)).toEqual(good);
  });

  it('keys the cache by the Node, ICU and tz data versions', () => {
    const v = { ...process.versions, node: '20.1.0', icu: '73.1', tz: '2023c' } as NodeJS.ProcessVersions;
    expect(runtimeKey(v)).toBe('node-20.1.0-icu-73.1-tz-2023c');
    expect(runtimeKey({ ...v, tz: '2024a' } as NodeJS.ProcessVersions)).not.toBe(runtimeKey(v));
    expect(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).name).toBe('cronsync');
  });

  it('has no path for names that are not zone names', () => {
    for (const zone of ['../../etc/passwd', 'Europe/../x', '', '/abs', 'a'.repeat(65)]) expect(zoneYearPath('/s', zone, 2026), zone).toBeNull();
  });
});

/**
 * Zone years exported by one process and imported by another (the `exec` zone cache) answer
 * exactly as tables built from Intl, and need no Intl.DateTimeFormat at all.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import type * as FiresModuleNs from '../../src/schedule/fires.js';
import type * as ZoneModuleNs from '../../src/schedule/zone.js';
import { prng, randomSchedule } from './random.js';

type ZoneModule = typeof ZoneModuleNs;
type FiresModule = typeof FiresModuleNs;

/** Fresh instances of the schedule modules, with empty caches. */
async function fresh(): Promise<{ zone: ZoneModule; fires: FiresModule }> {
  vi.resetModules();
  return { zone: await import('../../src/schedule/zone.js'), fires: await import('../../src/schedule/fires.js') };
}

const RealDTF = Intl.DateTimeFormat;
/** Counts Intl.DateTimeFormat constructions from now on. */
function countFormatters(): { count: () => number } {
  let n = 0;
  Intl.DateTimeFormat = new Proxy(RealDTF, {
    construct(target, args) {
      n++;
      return Reflect.construct(target, args) as object;
    },
  });
  return { count: () => n };
}
afterEach(() => {
  Intl.DateTimeFormat = RealDTF;
});

const CASES: Array<[string, number]> = [['Europe/Berlin', 2026], ['Australia/Lord_Howe', 2026], ['America/New_York', 2027], ['Pacific/Apia', 2011], ['Asia/Kolkata', 2026]];

describe('schedule/zone export and import', () => {
  it.each(CASES)('%s %i: imported tables answer as Intl-built ones, without Intl', async (zoneName, year) => {
    const built = await fresh();
    const years = [year - 1, year, year + 1].map((y) => built.zone.exportZoneYear(zoneName, y)!);
    expect(years.every((d) => d && d.zone === zoneName && d.canonical === built.zone.canonicalTimeZone(zoneName))).toBe(true);

    const used = await fresh();
    const formatters = countFormatters();
    for (const d of years) expect(used.zone.importZoneYear(JSON.parse(JSON.stringify(d)))).toBe(true);
    const rand = prng(year);
    const from = Date.UTC(year, 0, 1);
    const to = Date.UTC(year + 1, 0, 1);
    for (let i = 0; i < 300; i++) {
      const t = from + Math.floor(rand() * (to - from) / 60_000) * 60_000;
      expect(used.zone.offsetAt(zoneName, t)).toBe(built.zone.offsetAt(zoneName, t));
      expect(used.zone.transitionsBetween(zoneName, t - 4 * 86_400_000, t + 86_400_000)).toEqual(built.zone.transitionsBetween(zoneName, t - 4 * 86_400_000, t + 86_400_000));
      const expr = randomSchedule(rand, true);
      expect(used.fires.isFireTime(expr, zoneName, new Date(t)), `${expr} ${new Date(t).toISOString()}`).toBe(built.fires.isFireTime(expr, zoneName, new Date(t)));
    }
    expect(formatters.count()).toBe(0);
    // The same questions without the import do construct one.
    const cold = await fresh();
    cold.fires.isFireTime('* * * * *', zoneName, new Date(from));
    expect(formatters.count()).toBe(1);
  });

  it('refuses malformed years and years already known', async () => {
    const { zone } = await fresh();
    const good = zone.exportZoneYear('Europe/Berlin', 2026)!;
    const [a, b] = good.transitions as [{ at: number; before: number; after: number }, { at: number; before: number; after: number }];
    const bad = [
      { ...good, transitions: [b, a] },
      { ...good, transitions: [{ ...a, before: a.before + 1 }, b] },
      { ...good, transitions: [{ ...a, at: Date.UTC(2027, 0, 2) }] },
      { ...good, startOffset: 'x' },
      { ...good, year: 99 },
      null,
    ];
    const other = await fresh();
    for (const d of bad) {
      expect(other.zone.isZoneYear(d)).toBe(false);
      expect(other.zone.importZoneYear(d as never)).toBe(false);
    }
    expect(other.zone.importZoneYear(good)).toBe(true);
    expect(other.zone.importZoneYear(good)).toBe(false);
    expect(zone.exportZoneYear('Mars/Olympus', 2026)).toBeNull();
  });
});

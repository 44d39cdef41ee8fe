/**
 * The lazily built zone tables and the UTC fast path of src/schedule/zone.ts against the
 * eager whole-year construction they replaced (kept verbatim below as the reference).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { canonicalTimeZone, offsetAt, transitionsBetween } from '../../src/schedule/zone.js';
import type { Transition } from '../../src/schedule/zone.js';

// ---- Reference: the eager implementation, unchanged apart from its own caches. ----
const SAMPLE_STEP = 6 * 3_600_000;
const refFormatters = new Map<string, Intl.DateTimeFormat>();
const refTables = new Map<string, { startOffset: number; transitions: Transition[] }>();

function refRawOffset(zone: string, utcMs: number): number {
  const t = Math.floor(utcMs / 1000) * 1000;
  let f = refFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    refFormatters.set(zone, f);
  }
  const m = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/.exec(f.format(t));
  let y: number, mo: number, d: number, h: number, mi: number, s: number;
  if (m) {
    mo = Number(m[1]); d = Number(m[2]); y = Number(m[3]);
    h = Number(m[4]); mi = Number(m[5]); s = Number(m[6]);
  } else {
    const p: Record<string, number> = {};
    for (const part of f.formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    y = p.year ?? 1970; mo = p.month ?? 1; d = p.day ?? 1; h = p.hour ?? 0; mi = p.minute ?? 0; s = p.second ?? 0;
  }
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const fixed = y < 100 ? new Date(wall).setUTCFullYear(y) : wall;
  return fixed - t;
}

function refYear(zone: string, year: number): { startOffset: number; transitions: Transition[] } {
  const key = `${zone} ${year}`;
  const hit = refTables.get(key);
  if (hit) return hit;
  const start = Date.UTC(year, 0, 1);
  const end = Date.UTC(year + 1, 0, 1);
  const startOffset = refRawOffset(zone, start);
  const transitions: Transition[] = [];
  let prevT = start;
  let prevO = startOffset;
  for (let t = start + SAMPLE_STEP; t <= end; t += SAMPLE_STEP) {
    const o = refRawOffset(zone, t);
    if (o !== prevO) {
      let lo = prevT;
      let hi = t;
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (mid <= lo) break;
        if (refRawOffset(zone, mid) === prevO) lo = mid;
        else hi = mid;
      }
      if (hi < end) transitions.push({ at: hi, before: prevO, after: o });
    }
    prevT = t;
    prevO = o;
  }
  const table = { startOffset, transitions };
  refTables.set(key, table);
  return table;
}

function refOffsetAt(zone: string, utcMs: number): number {
  const table = refYear(zone, new Date(utcMs).getUTCFullYear());
  let found: Transition | undefined;
  for (const t of table.transitions) if (t.at <= utcMs) found = t;
  return found ? found.after : table.startOffset;
}

function refTransitionsBetween(zone: string, fromMs: number, toMs: number): Transition[] {
  const out: Transition[] = [];
  if (!(toMs > fromMs)) return out;
  const y0 = new Date(fromMs).getUTCFullYear();
  const y1 = new Date(toMs).getUTCFullYear();
  for (let y = y0; y <= y1; y++) {
    const table = refYear(zone, y);
    if (y > y0) {
      const prevYearEnd = refOffsetAt(zone, Date.UTC(y, 0, 1) - 1);
      const at = Date.UTC(y, 0, 1);
      if (prevYearEnd !== table.startOffset && at >= fromMs && at < toMs) out.push({ at, before: prevYearEnd, after: table.startOffset });
    }
    for (const t of table.transitions) if (t.at >= fromMs && t.at < toMs) out.push(t);
  }
  return out;
}
// ---- End of the reference. ----

const ZONES = [
  'UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Europe/Berlin', 'America/New_York', 'Europe/Dublin', 'Australia/Lord_Howe',
  'Pacific/Chatham', 'Asia/Kathmandu', 'Africa/Casablanca', 'America/Santiago', 'Antarctica/Troll', 'Pacific/Apia', 'Asia/Kolkata',
];
const YEAR = 365.25 * 86_400_000;

describe('schedule/zone lazy tables', () => {
  it('gives UTC names the canonical name and the zero offset that Intl gives them', () => {
    for (const zone of ['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT']) {
      expect(canonicalTimeZone(zone)).toBe(new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone);
      for (const year of [100, 1000, 1582, 1900, 1970, 2026, 2100, 9999]) {
        const t = Date.UTC(year, 6, 1, 12, 34, 56);
        expect(refRawOffset(zone, t)).toBe(0);
        expect(offsetAt(zone, t)).toBe(0);
      }
    }
  });

  it('agrees with the eager tables on offsets and transitions', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2045, 0, 1) }),
        fc.constantFrom(0, 60_000, 3_600_000, 86_400_000, 3 * 86_400_000, 40 * 86_400_000, 400 * 86_400_000),
        (zone, t, span) => {
          expect(offsetAt(zone, t)).toBe(refOffsetAt(zone, t));
          expect(offsetAt(zone, t + span)).toBe(refOffsetAt(zone, t + span));
          expect(transitionsBetween(zone, t, t + span)).toEqual(refTransitionsBetween(zone, t, t + span));
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  it('agrees at and around every transition instant of a year', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: 1900, max: 2040 }), (zone, year) => {
        for (const { at } of refTransitionsBetween(zone, Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1))) {
          for (const t of [at - 1000, at - 1, at, at + 1, at + 1000]) expect(offsetAt(zone, t)).toBe(refOffsetAt(zone, t));
          expect(transitionsBetween(zone, at, at + 1)).toEqual(refTransitionsBetween(zone, at, at + 1));
          expect(transitionsBetween(zone, at - 1, at)).toEqual([]);
        }
      }),
      { numRuns: 60, seed: 11 },
    );
  });

  it.each([
    { name: 'New Year, 6-hour grid points and the last second of a year', times: [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) - 1, Date.UTC(2026, 2, 29, 0), Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1), Date.UTC(2026, 11, 31, 23, 59, 59, 999)] },
    { name: 'years before 100 (Date.UTC reads them as 19xx) and the far future', times: [new Date('0050-06-01T00:00:00Z').getTime(), new Date('0099-12-31T23:00:00Z').getTime(), Date.UTC(2500, 3, 1), 8.64e15 - 1] },
  ])('agrees at $name', ({ times }) => {
    for (const zone of ZONES) {
      for (const t of times) {
        expect(offsetAt(zone, t)).toBe(refOffsetAt(zone, t));
        expect(transitionsBetween(zone, t - YEAR / 2, t + 1)).toEqual(refTransitionsBetween(zone, t - YEAR / 2, t + 1));
      }
    }
  });

  it('throws like the eager tables for an invalid instant', () => {
    expect(() => refOffsetAt('Europe/Berlin', Number.NaN)).toThrow(RangeError);
    expect(() => offsetAt('Europe/Berlin', Number.NaN)).toThrow(RangeError);
  });
});

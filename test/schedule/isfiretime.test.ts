/**
 * isFireTime() decides one minute without listing fires; it must answer exactly as the §2a
 * iterator: for every minute around real offset changes (gaps, overlaps, half-hour and
 * 45-minute zones, skipped days, changes at midnight, odd-second LMT offsets) the minute is a
 * fire time if and only if nextFires() yields it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { parseCron } from '../../src/schedule/cron.js';
import type { CronSpec } from '../../src/schedule/cron.js';
import { firesBetween, isFireTime } from '../../src/schedule/fires.js';
import { transitionsBetween } from '../../src/schedule/zone.js';
import { prng, randomSchedule } from './random.js';

const MIN = 60_000;
const DAY = 86_400_000;

function spec(expr: string): CronSpec {
  const r = parseCron(expr);
  if (!r.ok) throw new Error(`invalid ${expr}`);
  return r.value;
}

/** Every minute of [from, to) where isFireTime and the iterator disagree (empty when they agree). */
function disagreements(s: CronSpec, zone: string, from: number, to: number): string[] {
  const fires = new Set(firesBetween(s, zone, new Date(from - 1), new Date(to - 1), 100_000).map((d) => d.getTime()));
  const out: string[] = [];
  for (let t = from; t < to; t += MIN) {
    if (isFireTime(s, zone, new Date(t)) !== fires.has(t)) out.push(`${s.source} ${zone} ${new Date(t).toISOString()} iterator=${fires.has(t)}`);
  }
  return out;
}

/** Zones and years with every kind of offset change. */
const CHANGES: Array<[zone: string, year: number]> = [
  ['Europe/Berlin', 2026], ['America/New_York', 2026], ['Australia/Lord_Howe', 2026], ['Pacific/Chatham', 2026],
  ['America/Havana', 2026], ['America/St_Johns', 2026], ['Antarctica/Troll', 2026], ['Africa/Casablanca', 2026],
  ['America/Santiago', 2026], ['Asia/Kathmandu', 1985], ['Pacific/Apia', 2011], ['Pacific/Kiritimati', 1994],
  ['America/Sao_Paulo', 2018], ['Europe/Berlin', 1893], ['Europe/Moscow', 1919],
];

const FIXED = ['* * * * *', '*/30 * * * *', '30 0-3 * * *', '0 0 * * *', '59 23 * * *', '15,45 1,2 * * *', '0 2 * * 0', '*/7 */2 * * *'];

describe('schedule/isFireTime equals the iterator', () => {
  it.each(CHANGES)('on every minute within two days of each offset change of %s in %i', (zone, year) => {
    const changes = transitionsBetween(zone, Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1));
    expect(changes.length).toBeGreaterThan(0);
    const rand = prng(year * 31 + zone.length);
    const schedules = [...FIXED, ...Array.from({ length: 6 }, () => randomSchedule(rand, true))].map(spec);
    const bad: string[] = [];
    for (const tr of changes.slice(0, 4)) {
      const from = Math.floor(tr.at / MIN) * MIN - 2 * DAY;
      for (const s of schedules) bad.push(...disagreements(s, zone, from, from + 4 * DAY));
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('at random minutes of random schedules in random zones, 1850 to 2100', () => {
    const zones = [...new Set(CHANGES.map(([z]) => z)), 'UTC', 'Asia/Kolkata', 'America/Sitka', 'Asia/Manila'];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(1850, 0, 1) / MIN, max: Date.UTC(2100, 0, 1) / MIN }),
        (seed, zone, minute) => {
          const s = spec(randomSchedule(prng(seed), seed % 3 !== 0));
          const t = minute * MIN;
          const fire = firesBetween(s, zone, new Date(t - MIN), new Date(t), 1_000).some((d) => d.getTime() === t);
          expect(isFireTime(s, zone, new Date(t + (seed % MIN)))).toBe(fire);
        },
      ),
      { numRuns: 400, seed: 5 },
    );
  });
});

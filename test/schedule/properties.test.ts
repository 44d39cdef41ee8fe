import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { parseCron } from '../../src/schedule/cron.js';
import { firesBetween, isFireTime, nextFires } from '../../src/schedule/fires.js';
import { prng, randomSchedule } from './random.js';

const ZONES = [
  'UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Havana',
  'Asia/Kolkata', 'America/St_Johns', 'Asia/Kathmandu', 'Africa/Casablanca', 'America/Santiago', 'Antarctica/Troll',
];

describe('schedule/fires properties', () => {
  it('is strictly increasing, yields the requested fires and agrees with isFireTime', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(...ZONES),
        fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2030, 0, 1) }),
        (seed, zone, fromMs) => {
          const expr = randomSchedule(prng(seed), seed % 2 === 0);
          const spec = parseCron(expr);
          if (!spec.ok) throw new Error(`generator produced invalid ${expr}`);
          let prev = fromMs;
          let n = 0;
          for (const d of nextFires(spec.value, zone, new Date(fromMs))) {
            expect(d.getTime()).toBeGreaterThan(prev);
            expect(isFireTime(spec.value, zone, d)).toBe(true);
            prev = d.getTime();
            if (++n >= 30) break;
          }
          // Every schedule the generator makes fires at least 30 times in the years ahead:
          // the iterator ended by yielding them, not by running out (termination is the test timeout).
          expect(n).toBe(30);
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });

  it('isFireTime is false between consecutive fires', () => {
    const rand = prng(7);
    for (let i = 0; i < 40; i++) {
      const expr = randomSchedule(rand, true);
      const zone = ZONES[i % ZONES.length]!;
      const got = firesBetween(expr, zone, new Date(Date.UTC(2026, 2, 1)), new Date(Date.UTC(2026, 11, 31)), 6);
      for (let k = 1; k < got.length; k++) {
        const mid = Math.floor((got[k - 1]!.getTime() + got[k]!.getTime()) / 120_000) * 60_000;
        if (mid > got[k - 1]!.getTime() && mid < got[k]!.getTime()) {
          expect(isFireTime(expr, zone, new Date(mid)), `${expr} ${zone} ${new Date(mid).toISOString()}`).toBe(false);
        }
      }
    }
  });
});

import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';

import { nextFires } from '../../src/schedule/fires.js';
import { transitionsBetween } from '../../src/schedule/zone.js';
import { prng, randomSchedule } from './random.js';

const ZONES = ['America/New_York', 'Europe/London', 'Europe/Berlin', 'Asia/Kolkata'];
const SCHEDULES = 170;
const FIRES = 24;
const START = Date.UTC(2026, 0, 1);
const END = Date.UTC(2028, 0, 1);

function cronParserFires(expr: string, zone: string, from: Date, n: number): number[] {
  const it = CronExpressionParser.parse(expr, { currentDate: from, tz: zone, endDate: new Date(END) });
  const out: number[] = [];
  while (out.length < n && it.hasNext()) out.push(it.next().toDate().getTime());
  return out;
}

function ours(expr: string, zone: string, from: Date, n: number): number[] {
  const out: number[] = [];
  for (const d of nextFires(expr, zone, from)) {
    if (out.length >= n || d.getTime() > END) break;
    out.push(d.getTime());
  }
  return out;
}

describe('schedule/fires vs cron-parser 5', () => {
  it(`agrees on ${SCHEDULES} random schedules x ${ZONES.length} zones over 2026-2027`, () => {
    const rand = prng(20260101);
    const differences: string[] = [];
    let compared = 0;
    let crossings = 0;
    for (let i = 0; i < SCHEDULES; i++) {
      const expr = randomSchedule(rand, i % 2 === 0);
      for (const zone of ZONES) {
        // Half of the runs start just before one of the zone's DST changes.
        const trs = transitionsBetween(zone, START, END - 86_400_000 * 3);
        let from = new Date(START + Math.floor(rand() * (END - START - 86_400_000 * 60)));
        if (trs.length > 0 && rand() < 0.5) {
          const tr = trs[Math.floor(rand() * trs.length)]!;
          from = new Date(tr.at - Math.floor(rand() * 2 * 86_400_000));
          crossings++;
        }
        const want = cronParserFires(expr, zone, from, FIRES);
        const got = ours(expr, zone, from, FIRES);
        compared++;
        if (JSON.stringify(want) !== JSON.stringify(got)) {
          const first = want.findIndex((t, k) => got[k] !== t);
          differences.push(`${expr} ${zone} from ${from.toISOString()}: at #${first} cron-parser ${new Date(want[first] ?? NaN).toISOString?.()} ours ${got[first] !== undefined ? new Date(got[first]!).toISOString() : 'none'}`);
        }
      }
    }

    expect(compared).toBe(SCHEDULES * ZONES.length);
    expect(crossings).toBeGreaterThan(100);
    expect(differences).toEqual([]);
  }, 30_000);
});

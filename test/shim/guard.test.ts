/**
 * The `--scheduled` guard: the first run in a zone stores its offsets in the state dir, later
 * runs (fresh processes) answer from them without Intl.DateTimeFormat, always as isFireTime().
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { isFireTime } from '../../src/schedule/fires.js';
import { exportZoneYear } from '../../src/schedule/zone.js';
import type { ZoneYear } from '../../src/schedule/zone.js';
import { writeZoneYear, zoneYearPath } from '../../src/state/zone-cache.js';
import { makeJob, removeTempStateDirs, tempStateDir } from './fixtures.js';

const RealDTF = Intl.DateTimeFormat;
let constructed = 0;
afterEach(() => {
  Intl.DateTimeFormat = RealDTF;
  removeTempStateDirs();
});

/** The guard from fresh module instances (empty zone caches, as in a new process), counting formatters. */
async function freshGuard(stateDir: string): Promise<(job: ReturnType<typeof makeJob>, minute: Date) => boolean> {
  vi.resetModules();
  constructed = 0;
  Intl.DateTimeFormat = new Proxy(RealDTF, {
    construct(target, args) {
      constructed++;
      return Reflect.construct(target, args) as object;
    },
  });
  return (await import('../../src/shim/guard.js')).createFireTimeGuard(stateDir);
}

describe('shim/guard', () => {
  it('builds the zone tables once, then answers from the state dir without Intl', async () => {
    const dir = tempStateDir();
    const job = makeJob('berlin', { schedule: '30 2 * * *', timezone: 'Europe/Berlin' });
    // 2026-03-29 02:30 Berlin is in the spring-forward gap: it fires at 01:30 UTC (rule 3).
    const minutes = ['2026-03-29T01:30:00Z', '2026-03-29T00:30:00Z', '2026-03-30T00:30:00Z', '2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z'].map((s) => new Date(s));

    const first = await freshGuard(dir);
    const answers = minutes.map((m) => first(job, m));
    expect(constructed).toBe(1);
    expect(existsSync(zoneYearPath(dir, 'Europe/Berlin', 2026)!)).toBe(true);

    const later = await freshGuard(dir);
    expect(minutes.map((m) => later(job, m))).toEqual(answers);
    expect(constructed).toBe(0);
    Intl.DateTimeFormat = RealDTF;
    expect(answers).toEqual(minutes.map((m) => isFireTime('30 2 * * *', 'Europe/Berlin', m)));
    expect(answers).toEqual([true, false, true, true, false]);
  });

  it('reads or builds each zone year once per guard: the minutes a late start looks back on cost no more reads', async () => {
    const dir = tempStateDir();
    const job = makeJob('berlin', { schedule: '0 3 * * *', timezone: 'Europe/Berlin' });
    const guard = await freshGuard(dir);
    const file = zoneYearPath(dir, 'Europe/Berlin', 2026)!;

    expect(guard(job, new Date('2026-06-01T01:00:00Z'))).toBe(true);
    rmSync(dirname(file), { recursive: true });
    const later = Array.from({ length: 10 }, (_, i) => guard(job, new Date(Date.UTC(2026, 5, 1, 1, i + 1))));

    expect(later.every((f) => !f)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('stores both years around New Year, and nothing for UTC', async () => {
    const dir = tempStateDir();
    const guard = await freshGuard(dir);
    // Midnight of 1 January 2027 in Chatham (+13:45) is 10:15 UTC on 31 December.
    expect(guard(makeJob('ny', { schedule: '0 0 1 1 *', timezone: 'Pacific/Chatham' }), new Date('2026-12-31T10:15:00Z'))).toBe(true);
    expect(existsSync(zoneYearPath(dir, 'Pacific/Chatham', 2026)!)).toBe(true);
    expect(existsSync(zoneYearPath(dir, 'Pacific/Chatham', 2027)!)).toBe(true);
    expect(guard(makeJob('utc'), new Date('2026-12-31T11:15:00Z'))).toBe(true);
    expect(existsSync(`${dir}/cache`) && existsSync(zoneYearPath(dir, 'UTC', 2026)!)).toBe(false);
  });

  it('still answers when the state dir cannot hold the cache', async () => {
    const guard = await freshGuard('/nonexistent/dir/for/cronsync');
    expect(guard(makeJob('x', { schedule: '*/5 * * * *', timezone: 'America/New_York' }), new Date('2026-06-01T12:05:00Z'))).toBe(true);
    expect(guard(makeJob('x', { schedule: '*/5 * * * *', timezone: 'America/New_York' }), new Date('2026-06-01T12:06:00Z'))).toBe(false);
  });

  describe('a cache file that is well-formed but wrong never moves or skips a fire', () => {
    // `0 12 * * *` in New York on Monday 9 March 2026, the day after DST began: 16:00 UTC.
    const job = makeJob('noon', { schedule: '0 12 * * *', timezone: 'America/New_York' });
    const fire = new Date('2026-03-09T16:00:00Z');
    const wrong = new Date('2026-03-09T17:00:00Z');
    const good = (): ZoneYear => exportZoneYear('America/New_York', 2026)!;
    // The spring-forward change moved two days later: still ordered and consistent.
    const shifted = (): ZoneYear => {
      const g = good();
      return { ...g, transitions: g.transitions.map((t, i) => (i === 0 ? { ...t, at: t.at + 2 * 86_400_000 } : t)) };
    };

    async function answers(dir: string): Promise<boolean[]> {
      const guard = await freshGuard(dir);
      return [guard(job, fire), guard(job, wrong)];
    }

    it('a damaged file (one number changed on disk)', async () => {
      const dir = tempStateDir();
      expect(writeZoneYear(dir, good())).toBe(true);
      const path = zoneYearPath(dir, 'America/New_York', 2026)!;
      const at = String(good().transitions[0]!.at);
      writeFileSync(path, readFileSync(path, 'utf8').replace(at, String(Number(at) + 2 * 86_400_000)));

      expect(await answers(dir)).toEqual([true, false]);
    });

    it('a file written by another user, or that others may write', async () => {
      for (const tamper of ['other-owner', 'world-writable'] as const) {
        if (tamper === 'other-owner' && process.getuid?.() !== 0) continue;
        const dir = tempStateDir();
        expect(writeZoneYear(dir, shifted())).toBe(true);
        const path = zoneYearPath(dir, 'America/New_York', 2026)!;
        if (tamper === 'other-owner') chownSync(path, 65534, 65534);
        else chmodSync(path, 0o666);

        expect(await answers(dir), tamper).toEqual([true, false]);
      }
    });

    it('a file with implausible offsets', async () => {
      const dir = tempStateDir();
      const path = zoneYearPath(dir, 'America/New_York', 2026)!;
      mkdirSync(dirname(path), { recursive: true });
      const g = good();
      // One millisecond off: no wall minute would ever match, so the job would never fire.
      const bad = { ...g, startOffset: g.startOffset + 1, transitions: g.transitions.map((t, i) => (i === 0 ? { ...t, before: t.before + 1 } : t)) };
      expect(writeZoneYear(dir, bad)).toBe(false);
      writeFileSync(path, JSON.stringify(bad));

      expect(await answers(dir)).toEqual([true, false]);
    });
  });
});

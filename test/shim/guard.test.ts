/**
 * The `--scheduled` guard: the first run in a zone stores its offsets in the state dir, later
 * runs (fresh processes) answer from them without Intl.DateTimeFormat, always as isFireTime().
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { isFireTime } from '../../src/schedule/fires.js';
import { zoneYearPath } from '../../src/state/zone-cache.js';
import { makeJob, tempStateDir } from './fixtures.js';

const RealDTF = Intl.DateTimeFormat;
let constructed = 0;
afterEach(() => {
  Intl.DateTimeFormat = RealDTF;
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
});

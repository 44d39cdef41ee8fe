import { describe, expect, it } from 'vitest';
import { createDaemonLoop, nextDelayMs } from '../../src/daemon/loop.js';
import type { DaemonLoop } from '../../src/daemon/loop.js';
import { nullLogger } from '../../src/log.js';
import { ManualClock } from '../fakes/ManualClock.js';
import { prng } from '../schedule/random.js';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const INTERVAL = 60_000;
/** The daemon's backoff: base 5 s, cap daemon.maxBackoff (default 10m). */
const BACKOFF = { baseMs: 5_000, maxMs: 600_000 };

/**
 * `agents` loops on one clock, started together with a start delay of one interval; their source
 * fails from `downAt` to `upAt` (ms after T0). Returns every sync attempt's time and each agent's
 * first successful sync at or after `upAt`.
 */
async function fleet(agents: number, downAt: number, upAt: number, until: number) {
  const clock = new ManualClock(T0);
  const attempts: number[] = [];
  const recovered: number[] = new Array<number>(agents).fill(Infinity);
  const loops: DaemonLoop[] = [];
  for (let i = 0; i < agents; i++) {
    loops.push(createDaemonLoop({
      intervalMs: INTERVAL,
      startDelayMaxMs: INTERVAL,
      backoff: BACKOFF,
      random: prng(i + 1),
      clock,
      log: nullLogger,
      async sync() {
        const t = clock.now().getTime() - T0;
        attempts.push(t);
        const ok = t < downAt || t >= upAt;
        if (ok && t >= upAt && recovered[i] === Infinity) recovered[i] = t;
        return { ok };
      },
    }));
  }
  for (const l of loops) l.start();
  await clock.advance(until);
  await Promise.all(loops.map((l) => l.stop()));
  return { attempts, recovered };
}

/** Attempts per `windowMs` window in [from, to). */
function perWindow(attempts: number[], from: number, to: number, windowMs: number): number[] {
  const counts = new Array<number>(Math.ceil((to - from) / windowMs)).fill(0);
  for (const t of attempts) if (t >= from && t < to) counts[Math.floor((t - from) / windowMs)] = (counts[Math.floor((t - from) / windowMs)] ?? 0) + 1;
  return counts;
}

describe('daemon/loop fleet behaviour', () => {
  it.each`
    failures | r       | maxMs        | want
    ${1}     | ${0.5}  | ${600_000}   | ${5_000}
    ${4}     | ${0.5}  | ${600_000}   | ${40_000}
    ${4}     | ${0.99} | ${600_000}   | ${43_920}
    ${5}     | ${0.5}  | ${600_000}   | ${87_000}
    ${5}     | ${0}    | ${600_000}   | ${54_000}
    ${5}     | ${0.99} | ${600_000}   | ${119_340}
    ${1000}  | ${0.5}  | ${600_000}   | ${87_000}
    ${5}     | ${0.5}  | ${90_000}    | ${72_000}
    ${5}     | ${0.99} | ${90_000}    | ${89_640}
  `('past the interval, the backoff is uniform in [0.9, 2] intervals (or maxMs): nextDelayMs(failures=$failures, r=$r, maxMs=$maxMs) = $want', ({ failures, r, maxMs, want }) => {
    expect(nextDelayMs(failures, INTERVAL, 0.1, { baseMs: 5_000, maxMs }, r)).toBe(want);
  });

  it.each`
    failures | r       | want
    ${8}     | ${0.5}  | ${600_000}
    ${8}     | ${0}    | ${540_000}
    ${8}     | ${0.99} | ${600_000}
    ${40}    | ${0.5}  | ${600_000}
  `('a maxBackoff below the interval stays a hard cap: nextDelayMs(failures=$failures, r=$r) = $want', ({ failures, r, want }) => {
    expect(nextDelayMs(failures, 3_600_000, 0.1, BACKOFF, r)).toBe(want);
  });

  it.each([10, 15, 42])('after a %i-minute outage every agent syncs again within two intervals', async (minutes) => {
    const downAt = 3 * INTERVAL;
    const upAt = downAt + minutes * INTERVAL;

    const { recovered } = await fleet(100, downAt, upAt, upAt + 3 * INTERVAL);

    const worst = Math.max(...recovered) - upAt;
    expect(worst).toBeLessThanOrEqual(2 * INTERVAL);
  });

  it('recovery is no herd: attempts per 10 s stay within 2× the steady mean', async () => {
    const agents = 300;
    const downAt = 3 * INTERVAL;
    const upAt = downAt + 10 * INTERVAL;

    const { attempts } = await fleet(agents, downAt, upAt, upAt + 3 * INTERVAL);

    const steadyPer10s = (agents / INTERVAL) * 10_000;
    const after = perWindow(attempts, upAt, upAt + 2 * INTERVAL, 10_000);
    expect(Math.max(...after)).toBeLessThanOrEqual(2 * steadyPer10s);
    const late = perWindow(attempts, downAt + 5 * INTERVAL, upAt, 10_000);
    expect(Math.max(...late)).toBeLessThanOrEqual(2 * steadyPer10s);
  });
});

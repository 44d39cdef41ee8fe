/**
 * DaemonLoop.outlook(): what the status file (written inside a sync) reports as the daemon's
 * failure count and next attempt must equal what the loop then does. Found by the process
 * test's outage case: the status said "ok, 3 failures in a row" and never had a next attempt.
 */
import { describe, expect, it } from 'vitest';
import { createDaemonLoop } from '../../src/daemon/loop.js';
import type { DaemonLoop, SyncOutcome } from '../../src/daemon/loop.js';
import { nullLogger } from '../../src/log.js';
import { ManualClock, flush } from '../fakes/ManualClock.js';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

describe('daemon/loop outlook', () => {
  it('inside each sync, predicts the failure count and the exact start of the next sync', async () => {
    const clock = new ManualClock(T0);
    const rolls = [0.5, 0.1, 0.9, 0.3, 0.7];
    const results = [false, false, true, false, true];
    const seen: { failures: number; next: number | null; startedAt: number }[] = [];
    const starts: number[] = [];
    let loop: DaemonLoop | null = null;
    loop = createDaemonLoop({
      intervalMs: 60_000,
      backoff: { baseMs: 5_000, maxMs: 300_000 },
      // The first roll is the start delay (0: none); then one per cycle.
      random: () => rolls.shift() ?? 0.5,
      startDelayMaxMs: 0,
      clock,
      log: nullLogger,
      sync: async (): Promise<SyncOutcome> => {
        const ok = results[starts.length] ?? true;
        starts.push(clock.now().getTime());
        await clock.sleep(1_000);
        const o = loop!.outlook(ok);
        seen.push({ failures: o.consecutiveFailures, next: o.nextRunAt?.getTime() ?? null, startedAt: clock.now().getTime() });
        return { ok };
      },
    });
    loop.start();
    // Moves time to each next deadline until five syncs have finished (never past one).
    for (let guard = 0; seen.length < 5 && guard < 100; guard++) {
      await flush();
      const next = clock.nextDeadline;
      if (next !== null) await clock.advance(next - clock.now().getTime());
    }
    await flush();
    await loop.stop();

    expect(seen.map((s) => s.failures)).toEqual([1, 2, 0, 1, 0]);
    // Each prediction is the time the next sync really started.
    for (let i = 0; i + 1 < starts.length; i++) expect(seen[i]!.next).toBe(starts[i + 1]);
    expect(starts).toHaveLength(5);
    // Outside a sync it reports the loop's state.
    expect(loop.outlook(true).consecutiveFailures).toBe(0);
  });
});

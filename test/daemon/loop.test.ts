import { describe, expect, it } from 'vitest';
import { createDaemonLoop, jittered, nextDelayMs } from '../../src/daemon/loop.js';
import type { CycleInfo, DaemonLoopOptions, SyncOutcome } from '../../src/daemon/loop.js';
import { nullLogger } from '../../src/log.js';
import { ManualClock, flush } from '../fakes/ManualClock.js';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

function setup(over: Partial<DaemonLoopOptions> & { results?: (SyncOutcome | Error)[]; syncMs?: number } = {}) {
  const clock = new ManualClock(T0);
  const starts: number[] = [];
  const cycles: CycleInfo[] = [];
  let running = 0;
  let maxRunning = 0;
  const results = over.results ?? [];
  const sync = over.sync ?? (async (signal: AbortSignal): Promise<SyncOutcome> => {
    starts.push(clock.now().getTime() - T0);
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      if (over.syncMs) await clock.sleep(over.syncMs, signal);
      const r = results.shift() ?? { ok: true };
      if (r instanceof Error) throw r;
      return r;
    } finally {
      running--;
    }
  });
  const loop = createDaemonLoop({
    intervalMs: 60_000,
    random: () => 0.5, // no jitter, no start delay
    clock,
    log: nullLogger,
    ...over,
    sync,
    onCycle: over.onCycle ?? ((c) => cycles.push(c)),
  });
  return { clock, loop, starts, cycles, maxRunning: () => maxRunning };
}

describe('daemon/loop', () => {
  it.each`
    failures | r       | want
    ${0}     | ${0.5}  | ${60_000}
    ${0}     | ${0}    | ${54_000}
    ${0}     | ${0.99} | ${65_880}
    ${1}     | ${0.5}  | ${5_000}
    ${2}     | ${0.5}  | ${10_000}
    ${4}     | ${0.5}  | ${40_000}
    ${7}     | ${0.5}  | ${87_000}
    ${7}     | ${0.99} | ${119_340}
    ${1000}  | ${0.5}  | ${87_000}
  `('nextDelayMs(failures=$failures, r=$r) = $want', ({ failures, r, want }) => {
    expect(nextDelayMs(failures, 60_000, 0.1, { baseMs: 5_000, maxMs: 300_000 }, r)).toBe(want);
  });

  it('jittered stays within ±jitter', () => {
    const values = [0, 0.25, 0.5, 0.75, 0.9999].map((r) => jittered(1000, 0.1, r));

    expect(Math.min(...values)).toBe(900);
    expect(Math.max(...values)).toBe(1100);
  });

  it('waits a random start delay, then syncs every interval', async () => {
    const { clock, loop, starts } = setup({ startDelayMaxMs: 10_000 });

    loop.start();
    await clock.advance(4_999);
    const before = [...starts];
    await clock.advance(1 + 60_000 * 2);

    expect(before).toEqual([]);
    expect(starts).toEqual([5_000, 65_000, 125_000]);
  });

  it('re-rolls jitter every cycle', async () => {
    const rolls = [0.5, 0, 0.99, 0.25];
    const { clock, loop, starts } = setup({ random: () => rolls.shift() ?? 0.5 });

    loop.start();
    for (let i = 0; i < 3; i++) await clock.advanceToNext();

    // start delay 0.5*0 = 0; then 0.9x, 1.098x, 0.95x the interval
    expect(starts).toEqual([0, 54_000, 54_000 + 65_880, 54_000 + 65_880 + 57_000]);
  });

  it('backs off exponentially with a cap on failures and thrown errors, never exits, and recovers', async () => {
    const results = [new Error('git down'), { ok: false }, new Error('x'), { ok: false }, new Error('x'), new Error('x'), new Error('x'), { ok: true }];
    const { clock, loop, starts, cycles } = setup({ results, backoff: { baseMs: 5_000, maxMs: 60_000 } });

    loop.start();
    for (let i = 0; i < 9; i++) await clock.advanceToNext();

    const gaps = starts.slice(1).map((s, i) => s - (starts[i] ?? 0));
    // Capped (maxMs = interval): uniform in [0.9, 1] interval, 57 s at r = 0.5.
    expect(gaps).toEqual([5_000, 10_000, 20_000, 40_000, 57_000, 57_000, 57_000, 60_000, 60_000]);
    expect(cycles.map((c) => c.consecutiveFailures)).toEqual([1, 2, 3, 4, 5, 6, 7, 0, 0, 0]);
    expect(cycles[0]?.error).toBeInstanceOf(Error);
    expect(cycles.map((c) => c.reason).slice(0, 3)).toEqual(['start', 'backoff', 'backoff']);
    expect(loop.state()).toMatchObject({ lastResult: 'ok', consecutiveFailures: 0, phase: 'waiting' });
  });

  it('never overlaps syncs; triggers during a sync coalesce into one follow-up', async () => {
    const { clock, loop, starts, maxRunning, cycles } = setup({ syncMs: 30_000 });

    loop.start();
    await clock.advance(1_000);
    loop.trigger('webhook');
    loop.trigger('webhook');
    loop.trigger('watch');
    await clock.advance(29_000);
    await clock.advance(30_000);

    expect(starts).toEqual([0, 30_000]);
    expect(maxRunning()).toBe(1);
    expect(cycles.map((c) => c.reason)).toEqual(['start', 'trigger']);
    expect(loop.state().nextRunAt?.getTime()).toBe(T0 + 60_000 + 60_000);
  });

  it('a trigger while waiting syncs at once and restarts the interval', async () => {
    const { clock, loop, starts } = setup();

    loop.start();
    await clock.advance(10_000);
    loop.trigger();
    await flush();
    await clock.advance(60_000);

    expect(starts).toEqual([0, 10_000, 70_000]);
  });

  it('exposes state for health: lastTick (wall and monotonic), nextRunAt, lastSuccessAt', async () => {
    let mono = 7;
    const { clock, loop } = setup({ results: [{ ok: true }, new Error('x')], monotonic: () => mono });

    loop.start();
    await clock.advance(0);
    const afterFirst = loop.state();
    mono = 8;
    await clock.advance(60_000);

    expect(afterFirst).toMatchObject({ phase: 'waiting', lastResult: 'ok', cycles: 1, consecutiveFailures: 0, lastTickMono: 7 });
    expect(loop.state().lastTickMono).toBe(8);
    expect(afterFirst.lastTick?.getTime()).toBe(T0);
    expect(afterFirst.nextRunAt?.getTime()).toBe(T0 + 60_000);
    expect(loop.state()).toMatchObject({ lastResult: 'error', consecutiveFailures: 1, cycles: 2 });
    expect(loop.state().lastSuccessAt?.getTime()).toBe(T0);
    expect(loop.state().nextRunAt?.getTime()).toBe(T0 + 60_000 + 5_000);
  });

  it('stop while waiting resolves at once and takes no more work', async () => {
    const { clock, loop, starts } = setup();
    loop.start();
    await clock.advance(1_000);

    const result = await loop.stop();
    loop.trigger();
    await clock.advance(600_000);

    expect(result).toEqual({ inFlight: false, aborted: false, clean: true });
    expect(starts).toEqual([0]);
    expect(loop.state().phase).toBe('stopped');
    expect(clock.pendingSleeps).toBe(0);
  });

  it('stop during a sync lets it finish within the grace period', async () => {
    const { clock, loop, starts, cycles } = setup({ syncMs: 10_000, stopGraceMs: 30_000 });
    loop.start();
    await clock.advance(1_000);

    const stopping = loop.stop();
    await clock.advance(9_000);
    const result = await stopping;

    expect(result).toEqual({ inFlight: true, aborted: false, clean: true });
    expect(cycles).toHaveLength(1);
    expect(cycles[0]?.ok).toBe(true);
    expect(starts).toEqual([0]);
  });

  it('stop aborts a sync that outlives the grace period; a sync that honours the signal ends cleanly', async () => {
    const { clock, loop } = setup({ syncMs: 3_600_000, stopGraceMs: 30_000, stopAbortGraceMs: 5_000 });
    loop.start();
    await clock.advance(0);

    const stopping = loop.stop();
    await clock.advance(30_000);
    const result = await stopping;

    expect(result).toEqual({ inFlight: true, aborted: true, clean: true });
  });

  it('stop gives up within the bound on a sync that ignores the signal', async () => {
    const clock = new ManualClock(T0);
    const loop = createDaemonLoop({ sync: () => new Promise<SyncOutcome>(() => undefined), intervalMs: 60_000, clock, log: nullLogger, random: () => 0.5, stopGraceMs: 30_000, stopAbortGraceMs: 5_000 });
    loop.start();
    await clock.advance(0);

    const stopping = loop.stop();
    await clock.advance(35_000);

    await expect(stopping).resolves.toEqual({ inFlight: true, aborted: true, clean: false });
  });

  it('aborts a sync that exceeds syncTimeoutMs and carries on', async () => {
    let aborted = 0;
    const clock = new ManualClock(T0);
    const sync = async (signal: AbortSignal): Promise<SyncOutcome> => {
      await clock.sleep(1_000_000, signal).catch(() => aborted++);
      return { ok: !signal.aborted };
    };
    const loop = createDaemonLoop({ sync, intervalMs: 60_000, clock, log: nullLogger, random: () => 0.5, syncTimeoutMs: 120_000 });

    loop.start();
    await clock.advance(120_000);

    expect(aborted).toBe(1);
    expect(loop.state()).toMatchObject({ lastResult: 'error', consecutiveFailures: 1, phase: 'waiting' });
  });

  it('survives an onCycle hook that throws', async () => {
    const { clock, loop, starts } = setup({ onCycle: () => { throw new Error('metrics broke'); } });

    loop.start();
    await clock.advance(120_000);

    expect(starts).toEqual([0, 60_000, 120_000]);
  });

  it('reconfigure changes the interval from the next wait on', async () => {
    const { clock, loop, starts } = setup();
    loop.start();
    await clock.advance(0);

    loop.reconfigure({ intervalMs: 10_000 });
    await clock.advance(60_000 + 20_000);

    expect(starts).toEqual([0, 60_000, 70_000, 80_000]);
  });

  it('passes the sync outcome to onCycle', async () => {
    const { clock, loop, cycles } = setup({ results: [{ ok: true, result: 'partial', jobsByState: { invalid: 1 } }] });

    loop.start();
    await clock.advance(0);

    expect(cycles[0]?.outcome).toEqual({ ok: true, result: 'partial', jobsByState: { invalid: 1 } });
  });

  it('start is idempotent and stop is idempotent', async () => {
    const { clock, loop, starts } = setup();

    loop.start();
    loop.start();
    await clock.advance(0);
    const [a, b] = await Promise.all([loop.stop(), loop.stop()]);

    expect(starts).toEqual([0]);
    expect(a).toBe(b);
  });
});

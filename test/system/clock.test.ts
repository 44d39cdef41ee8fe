import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, systemClock, timerMs } from '../../src/system/clock.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('system/clock', () => {
  it('sleeps past the longest Node timer in steps, never cut to 1 ms', async () => {
    vi.useFakeTimers({ now: 0 });
    const days40 = 40 * 86_400_000;
    let done = false;
    void systemClock.sleep(days40).then(() => (done = true));

    await vi.advanceTimersByTimeAsync(1_000);
    const early = done;
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    const afterOneStep = done;
    await vi.advanceTimersByTimeAsync(days40 - MAX_TIMER_MS - 1_000);

    expect(early).toBe(false);
    expect(afterOneStep).toBe(false);
    expect(done).toBe(true);
    expect(Date.now()).toBe(days40);
  });

  it('a long sleep is still cut short by its signal', async () => {
    vi.useFakeTimers({ now: 0 });
    const ctrl = new AbortController();
    const p = systemClock.sleep(40 * 86_400_000, ctrl.signal);

    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 5);
    ctrl.abort('stop');

    await expect(p).rejects.toBe('stop');
  });

  it('timerMs keeps a delay within what a timer or AbortSignal.timeout takes', () => {
    expect([timerMs(-5), timerMs(10), timerMs(MAX_TIMER_MS + 1), timerMs(Infinity), timerMs(Number.NaN)]).toEqual([0, 10, MAX_TIMER_MS, MAX_TIMER_MS, MAX_TIMER_MS]);
  });
});

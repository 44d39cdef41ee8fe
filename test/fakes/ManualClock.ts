/**
 * ManualClock is a Clock whose time only moves when a test calls advance(); sleepers wake in
 * deadline order, each with its promise callbacks run before the next one wakes.
 */
import type { Clock } from '../../src/system/clock.js';

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/** Lets every pending promise callback run (no wall-clock wait). */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A fake Clock for tests. */
export class ManualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private sleepers: Sleeper[] = [];

  constructor(start: Date | number = Date.UTC(2026, 10, 23, 10, 0, 0)) {
    this.nowMs = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  /** Number of sleeps not yet woken (timers the code under test still holds). */
  get pendingSleeps(): number {
    return this.sleepers.length;
  }

  /** The earliest pending deadline, in ms since the epoch, or null. */
  get nextDeadline(): number | null {
    return this.sleepers.reduce<number | null>((min, s) => (min === null || s.at < min ? s.at : min), null);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const sleeper: Sleeper = { at: this.nowMs + Math.max(0, ms), seq: this.seq++, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Moves time forward by `ms`, waking due sleepers one by one. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    await flush();
    for (;;) {
      const due = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.sleepers = this.sleepers.filter((s) => s !== due);
      this.nowMs = Math.max(this.nowMs, due.at);
      due.resolve();
      await flush();
    }
    this.nowMs = target;
    await flush();
  }

  /** Advances to the next deadline (if any) and returns how far time moved. */
  async advanceToNext(): Promise<number> {
    await flush();
    const next = this.nextDeadline;
    if (next === null) return 0;
    const delta = next - this.nowMs;
    await this.advance(delta);
    return delta;
  }
}

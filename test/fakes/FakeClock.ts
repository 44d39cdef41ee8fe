/**
 * FakeClock is a Clock whose sleeps return at once and move the time forward by the requested
 * amount, recording each one: retry and backoff timing is asserted without waiting.
 */
import type { Clock } from '../../src/system/clock.js';

/** A self-advancing fake Clock. */
export class FakeClock implements Clock {
  private ms: number;
  /** Every sleep requested, in ms, in order. */
  readonly sleeps: number[] = [];

  constructor(start: Date | number = Date.UTC(2026, 10, 23, 10, 0, 0)) {
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  /** Moves the time forward without a sleep (e.g. time spent in a request). */
  advance(ms: number): void {
    this.ms += ms;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.ms += Math.max(0, ms);
    await Promise.resolve();
  }
}

/**
 * ManualTimers is a timer port plus a wall clock whose time moves only when a test says so.
 * Timers count monotonic time, as Node's do; jump() moves the wall clock alone (NTP step,
 * suspend/resume), so tests can model clock jumps exactly.
 */
import type { TimerPort } from '../../src/scheduler/embedded/loop.js';
import { MAX_TIMER_MS } from '../../src/scheduler/embedded/loop.js';

interface Pending {
  id: number;
  /** Monotonic deadline. */
  at: number;
  fn: () => void;
}

/** A hand-driven TimerPort and clock. */
export class ManualTimers implements TimerPort {
  private mono = 0;
  private wallOffset: number;
  private seq = 0;
  private pending: Pending[] = [];
  /** Every delay requested, in order. */
  readonly requested: number[] = [];
  /** The wall clock seen by the code under test. */
  readonly clock = { now: (): Date => new Date(this.mono + this.wallOffset) };
  /** The monotonic clock of the timers, which jump() does not move. */
  readonly monotonic = (): number => this.mono;

  constructor(start: Date | number) {
    this.wallOffset = typeof start === 'number' ? start : start.getTime();
  }

  /** Current wall time in ms since the epoch. */
  get nowMs(): number {
    return this.mono + this.wallOffset;
  }

  /** Number of timers armed and not yet fired or cleared. */
  get armed(): number {
    return this.pending.length;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    // Node turns longer delays into 1 ms: a scheduler must never ask for one.
    if (!(ms >= 0 && ms <= MAX_TIMER_MS)) throw new RangeError(`timer delay ${ms} outside [0, 2^31-1]`);
    this.requested.push(ms);
    const p: Pending = { id: this.seq++, at: this.mono + ms, fn };
    this.pending.push(p);
    return p.id;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** Runs timers due within `ms` of monotonic time, in deadline order, then sets the time. */
  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      let due: Pending | undefined;
      for (const p of this.pending) if (p.at <= target && (!due || p.at < due.at || (p.at === due.at && p.id < due.id))) due = p;
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.mono = Math.max(this.mono, due.at);
      due.fn();
    }
    this.mono = target;
  }

  /** Advances until the wall clock reads `wallMs` (no jump). */
  advanceTo(wallMs: number | Date): void {
    const t = typeof wallMs === 'number' ? wallMs : wallMs.getTime();
    this.advance(Math.max(0, t - this.nowMs));
  }

  /** Moves the wall clock by `ms` (negative: back) without running any timer. */
  jump(ms: number): void {
    this.wallOffset += ms;
  }
}

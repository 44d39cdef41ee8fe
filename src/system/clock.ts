/** Clock port: the only way code reads the time or waits, so tests can inject a fake. */

/** Clock gives the current time and waits. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms` milliseconds; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** `ms` as a timer delay or AbortSignal.timeout: at least 0, at most MAX_TIMER_MS. */
export function timerMs(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, Number.isFinite(ms) ? ms : MAX_TIMER_MS));
}

/**
 * systemClock is the real clock backed by `Date` and timers. A sleep longer than MAX_TIMER_MS
 * waits in steps, so that it is never cut to 1 ms (which made a daemon with a very long
 * interval sync in a busy loop).
 */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const end = Date.now() + Math.max(0, ms);
      const wait = (left: number): void => {
        timer = setTimeout(() => {
          const rest = end - Date.now();
          if (left > MAX_TIMER_MS && rest > 0) {
            wait(rest);
            return;
          }
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, timerMs(left));
      };
      wait(Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * Milliseconds of the host's monotonic clock: CLOCK_MONOTONIC on Linux, QueryPerformanceCounter
 * on Windows. Unlike `performance.now()` (whose origin is the process's start) it is the same
 * clock in every process of the host: it counts from the boot, and no wall-clock step moves it.
 * It may stand still while the machine is suspended, so an interval measured on it is at most
 * the real one. Across processes: src/state/fired.ts (the claim of a scheduled minute).
 */
export function hostMonotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

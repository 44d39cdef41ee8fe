/**
 * A task the daemon runs beside its sync loop, one at a time: the spool flush. A sync only
 * starts it (kick) and never waits for it, so a check-in API that hangs cannot delay the next
 * sync, a webhook or a reload. A kick while one runs does nothing: the next sync kicks again.
 */

/** BackgroundTask is a single-flight task. */
export interface BackgroundTask {
  /** Starts a run unless one is in flight; returns at once. */
  kick(): void;
  /** True while a run is in flight. */
  running(): boolean;
  /** Aborts the run in flight (its signal) and waits for it; later kicks do nothing. */
  stop(): Promise<void>;
}

/**
 * Creates a task that runs `run` at most once at a time. `run` gets a signal aborted by stop();
 * a rejection is passed to `onError` (the task keeps working).
 *
 * Each run gets a signal of its own, dropped when it ends: a flush hands its signal to every
 * request it makes, and `AbortSignal.any()` (the undici client's timeout) leaves an entry in a
 * source signal for each composite for as long as the source lives (Node 20, nodejs/node#55351).
 * On one signal for the daemon's life, that would grow with every check-in ever delivered.
 */
export function createBackgroundTask(run: (signal: AbortSignal) => Promise<void>, onError: (err: unknown) => void): BackgroundTask {
  const ctrl = new AbortController();
  let inFlight: Promise<void> | null = null;
  return {
    kick() {
      if (inFlight || ctrl.signal.aborted) return;
      const own = new AbortController();
      const abort = (): void => own.abort(ctrl.signal.reason);
      ctrl.signal.addEventListener('abort', abort, { once: true });
      inFlight = (async () => {
        try {
          await run(own.signal);
        } catch (err) {
          onError(err);
        } finally {
          ctrl.signal.removeEventListener('abort', abort);
          inFlight = null;
        }
      })();
    },
    running: () => inFlight !== null,
    async stop() {
      ctrl.abort();
      await inFlight;
    },
  };
}

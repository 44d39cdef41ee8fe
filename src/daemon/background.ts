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
 */
export function createBackgroundTask(run: (signal: AbortSignal) => Promise<void>, onError: (err: unknown) => void): BackgroundTask {
  const ctrl = new AbortController();
  let inFlight: Promise<void> | null = null;
  return {
    kick() {
      if (inFlight || ctrl.signal.aborted) return;
      inFlight = (async () => {
        try {
          await run(ctrl.signal);
        } catch (err) {
          onError(err);
        } finally {
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

/**
 * `cronsync daemon` without the sync itself: the poll loop, the health/metrics and webhook
 * listeners, metrics updates after each cycle, and signals (SIGTERM/SIGINT: clean stop;
 * SIGHUP: reload). The CLI command supplies `sync` and `reload` and maps the result to exit 0.
 */
import type { Logger } from '../log.js';
import type { Clock } from '../system/clock.js';
import { healthRoutes, planListeners, staleAfterMs } from './health.js';
import type { HttpListener, HttpRoute, ListenAddress } from './http.js';
import { listen } from './http.js';
import type { BackoffPolicy, DaemonLoop, DaemonLoopOptions, LoopTiming, StopResult } from './loop.js';
import { createDaemonLoop } from './loop.js';
import type { PromMetrics } from './metrics.js';
import { webhookRoute } from './webhooks.js';

/** The process signals the daemon reacts to; `process` satisfies it. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

/** Options of {@link runDaemon}. */
export interface RunDaemonOptions {
  sync: DaemonLoopOptions['sync'];
  intervalMs: number;
  startDelayMaxMs?: number;
  backoff: BackoffPolicy;
  syncTimeoutMs?: number;
  stopGraceMs?: number;
  /** null: no health listener. */
  health: ListenAddress | null;
  /** null: no webhook listener. `secret` null rejects every call. */
  webhooks: { address: ListenAddress; secret: string | null; rateLimit?: { burst: number; perMinute: number } } | null;
  /**
   * SIGHUP: load and validate the config again and return the new timing. Throwing keeps the
   * old config (the error is logged); listeners are not rebound.
   */
  reload?(): Promise<LoopTiming & { webhookSecret?: string | null }>;
  clock: Clock;
  log: Logger;
  metrics?: PromMetrics;
  signals?: SignalSource;
  random?: () => number;
}

/** A running daemon. */
export interface RunningDaemon {
  readonly loop: DaemonLoop;
  readonly listeners: readonly HttpListener[];
  /** Stops the loop (bounded) and closes the listeners. Idempotent. */
  stop(): Promise<StopResult>;
  /** Resolves when the daemon has stopped, by stop() or a signal. */
  readonly done: Promise<StopResult>;
}

/**
 * Starts the daemon.
 * @throws {ConfigError} when a listener cannot bind (before the loop starts).
 */
export async function runDaemon(opts: RunDaemonOptions): Promise<RunningDaemon> {
  const { clock, log, metrics } = opts;
  const current = { intervalMs: opts.intervalMs, backoff: opts.backoff, syncTimeoutMs: opts.syncTimeoutMs };
  const stale = (): number => staleAfterMs(current.intervalMs, current.backoff, current.syncTimeoutMs);
  const loop = createDaemonLoop({
    sync: opts.sync,
    intervalMs: opts.intervalMs,
    startDelayMaxMs: opts.startDelayMaxMs ?? 0,
    backoff: opts.backoff,
    syncTimeoutMs: opts.syncTimeoutMs,
    stopGraceMs: opts.stopGraceMs,
    clock,
    log,
    random: opts.random,
    onCycle(info) {
      if (!metrics) return;
      metrics.syncFinished(info.outcome?.result ?? (info.ok ? 'ok' : 'error'), info.durationMs, info.finishedAt);
      if (info.outcome?.jobsByState) metrics.jobsByState(info.outcome.jobsByState);
      metrics.consecutiveFailures(info.consecutiveFailures);
    },
  });

  let webhookSecret = opts.webhooks?.secret ?? null;
  const routesFor = (serves: readonly string[]): HttpRoute[] => [
    ...(serves.includes('health') ? healthRoutes({ state: () => loop.state(), staleAfterMs: stale, metrics }) : []),
    ...(serves.includes('webhooks') && opts.webhooks
      ? [webhookRoute({ secret: () => webhookSecret, rateLimit: opts.webhooks.rateLimit, trigger: (r) => loop.trigger(r), log, metrics, nowMs: () => clock.now().getTime() })]
      : []),
  ];
  const listeners: HttpListener[] = [];
  try {
    for (const planned of planListeners(opts.health, opts.webhooks?.address ?? null)) {
      const l = await listen({ ...planned.address, routes: routesFor(planned.serves), log });
      listeners.push(l);
      log.info({ address: `${l.address.host}:${l.address.port}`, serves: planned.serves }, 'Listening');
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  if (opts.webhooks && opts.webhooks.secret === null) log.warn({}, 'Webhooks have no secret configured: every call is rejected');

  let resolveDone: (r: StopResult) => void = () => undefined;
  const done = new Promise<StopResult>((r) => (resolveDone = r));
  let stopping: Promise<StopResult> | null = null;
  const signals = opts.signals;
  const onStop = (): void => {
    if (stopping) {
      log.info({}, 'Stop signal received again; still finishing the sync in flight');
      return;
    }
    log.info({}, 'Stop signal received');
    void stop();
  };
  const onReload = (): void => {
    if (!opts.reload) return;
    if (stopping) {
      log.info({}, 'Reload signal ignored: the daemon is stopping');
      return;
    }
    log.info({}, 'Reload signal received');
    opts.reload().then(
      (timing) => {
        loop.reconfigure(timing);
        if (timing.intervalMs !== undefined) current.intervalMs = timing.intervalMs;
        if (timing.backoff !== undefined) current.backoff = timing.backoff;
        if (timing.syncTimeoutMs !== undefined) current.syncTimeoutMs = timing.syncTimeoutMs;
        // A rotated webhook secret applies to the next call (the listener itself is not rebound).
        if (timing.webhookSecret !== undefined && opts.webhooks) webhookSecret = timing.webhookSecret;
        log.info({}, 'Configuration reloaded');
        loop.trigger('reload');
      },
      // The message names the file, line and key; a stack trace would only bury it.
      (err: unknown) => log.error({ err: reloadError(err) }, 'Reload failed; keeping the previous configuration'),
    );
  };

  function stop(): Promise<StopResult> {
    stopping ??= (async () => {
      // The handlers stay until the loop has stopped: without a listener, a SIGHUP (logrotate,
      // `systemctl reload`) or a second SIGTERM would take the default action and kill the
      // process in the middle of the apply this stop waits for.
      const result = await loop.stop();
      await Promise.all(listeners.map((l) => l.close()));
      signals?.off('SIGTERM', onStop);
      signals?.off('SIGINT', onStop);
      signals?.off('SIGHUP', onReload);
      resolveDone(result);
      return result;
    })();
    return stopping;
  }

  signals?.on('SIGTERM', onStop);
  signals?.on('SIGINT', onStop);
  signals?.on('SIGHUP', onReload);
  loop.start();
  return { loop, listeners, stop, done };
}

/** A failed reload's error for the log: its code and message (a config error's lists each problem), no stack. */
function reloadError(err: unknown): { code?: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? { code, message } : { message };
}

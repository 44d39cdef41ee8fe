/**
 * The daemon's poll loop, independent of what a sync does: interval with jitter re-rolled each
 * cycle, a random start delay, exponential backoff on failure up to one to two intervals,
 * triggers that coalesce, never two syncs at once, and a bounded clean stop (supercronic's
 * `notifyExit(); wg.Wait()`, flux's `JitteredIntervalDuration`).
 */
import type { Logger } from '../log.js';
import type { Clock } from '../system/clock.js';

/** What one sync reports to the loop; `ok: false` counts as a failure for backoff. */
export interface SyncOutcome {
  ok: boolean;
  /** The status file's result, for metrics; default `ok` / `error` from `ok`. */
  result?: 'ok' | 'partial' | 'error';
  /** Jobs per state after the sync, for metrics. */
  jobsByState?: Readonly<Record<string, number>>;
}

/** Exponential backoff from `baseMs`, capped by `maxMs` and by one to two intervals (see {@link nextDelayMs}). */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** Why a cycle ran. */
export type CycleReason = 'start' | 'interval' | 'backoff' | 'trigger';

/** CycleInfo is what {@link DaemonLoopOptions.onCycle} receives after each sync. */
export interface CycleInfo {
  reason: CycleReason;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  ok: boolean;
  /** What the sync returned; absent when it threw. */
  outcome?: SyncOutcome;
  /** The thrown value when the sync threw (it is logged, never rethrown). */
  error?: unknown;
  consecutiveFailures: number;
}

/** Options of {@link createDaemonLoop}. */
export interface DaemonLoopOptions {
  /** One sync. May throw: a throw is a failure. Should stop at a safe point when `signal` aborts. */
  sync(signal: AbortSignal): Promise<SyncOutcome>;
  intervalMs: number;
  /** Fraction of the delay added or removed at random, re-rolled each cycle; default 0.1. */
  jitter?: number;
  /** The first sync waits a random 0..startDelayMaxMs (spreads a fleet's restarts); default 0. */
  startDelayMaxMs?: number;
  /** Default `{ baseMs: 5000, maxMs: 300000 }`. */
  backoff?: BackoffPolicy;
  /** A sync running longer than this has its signal aborted; default: never. */
  syncTimeoutMs?: number;
  /** stop() waits this long for the sync in flight to finish on its own; default 30000. */
  stopGraceMs?: number;
  /** then aborts its signal and waits this much longer before giving up; default 5000. */
  stopAbortGraceMs?: number;
  clock: Clock;
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number;
  /** Monotonic milliseconds (never stepped with the wall clock); default performance.now. */
  monotonic?: () => number;
  log: Logger;
  /** Called after each sync (metrics, status); its errors are logged and ignored. */
  onCycle?(info: CycleInfo): void;
}

/** Loop phases, for health and logs. */
export type LoopPhase = 'new' | 'waiting' | 'syncing' | 'stopping' | 'stopped';

/** LoopState is a snapshot of the loop for /healthz and /readyz. */
export interface LoopState {
  phase: LoopPhase;
  /** Last time the loop made progress: started, began or finished a sync. */
  lastTick: Date | null;
  /**
   * The same moment on the monotonic clock: liveness measures the age of the last tick with it,
   * so that a step of the wall clock neither fails a live loop nor hides a hung one.
   */
  lastTickMono: number | null;
  lastResult: 'ok' | 'error' | null;
  lastSuccessAt: Date | null;
  consecutiveFailures: number;
  /** When the next sync is due, while waiting. */
  nextRunAt: Date | null;
  cycles: number;
}

/** StopResult tells how stop() went. */
export interface StopResult {
  /** A sync was running when stop() was called. */
  inFlight: boolean;
  /** Its signal had to be aborted after the grace period. */
  aborted: boolean;
  /** Every sync has finished (false: one still ran when the bound was reached). */
  clean: boolean;
}

/** DaemonLoop is the running loop. */
export interface DaemonLoop {
  /** Starts the loop; a second call does nothing. */
  start(): void;
  /** Asks for a sync now; while one runs, all triggers coalesce into one follow-up sync. */
  trigger(reason?: string): void;
  /** Stops taking work, waits (bounded) for the sync in flight, resolves. Idempotent. */
  stop(): Promise<StopResult>;
  state(): LoopState;
  /** Changes timing from the next wait on (SIGHUP reload); a wait in progress keeps its end. */
  reconfigure(timing: LoopTiming): void;
  /**
   * While a sync runs: the failure count and next sync time the loop will have once this sync
   * ends with `ok`, for the status file written before the sync returns. The time is counted
   * from now (the sync's remaining work shifts it slightly); outside a sync, the current state.
   */
  outlook(ok: boolean): { consecutiveFailures: number; nextRunAt: Date | null };
}

/** The timing options {@link DaemonLoop.reconfigure} can change. */
export type LoopTiming = Partial<Pick<DaemonLoopOptions, 'intervalMs' | 'jitter' | 'backoff' | 'syncTimeoutMs'>>;

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, maxMs: 300_000 };

/** Pure: `ms` moved by up to ±`jitter` of itself, given a uniform `r` in [0, 1). */
export function jittered(ms: number, jitter: number, r: number): number {
  return Math.max(0, Math.round(ms * (1 + jitter * (2 * r - 1))));
}

/**
 * Pure: the wait before the next sync. After a success, the interval with jitter. After the n-th
 * consecutive failure, `base * 2^(n-1)` with jitter while that is below the interval (and
 * `backoff.maxMs`). From there on, a uniform wait from the interval's low end
 * (`interval * (1 - jitter)`) to two intervals (or `maxMs`, if smaller), re-rolled each time:
 * the agent then polls a failing source at most as often as a healthy one, retries within two
 * intervals after it comes back, and a fleet that failed together spreads its retries, and the
 * new commit's fetches, over more than an interval (full jitter): no herd (bench/fleet.mjs).
 * A `maxMs` below the interval is a hard cap, as before.
 */
export function nextDelayMs(consecutiveFailures: number, intervalMs: number, jitter: number, backoff: BackoffPolicy, r: number): number {
  if (consecutiveFailures <= 0) return jittered(intervalMs, jitter, r);
  const raw = backoff.baseMs * 2 ** Math.min(consecutiveFailures - 1, 40);
  if (raw < intervalMs || backoff.maxMs < intervalMs) return Math.min(jittered(Math.min(raw, backoff.maxMs), jitter, r), backoff.maxMs);
  const lo = Math.max(0, Math.round(intervalMs * (1 - jitter)));
  const hi = Math.min(2 * intervalMs, backoff.maxMs);
  return Math.round(lo + r * (hi - lo));
}

/** Creates the poll loop; call start(). Never throws out of the loop and never exits. */
export function createDaemonLoop(opts: DaemonLoopOptions): DaemonLoop {
  const { clock, log } = opts;
  const monotonic = opts.monotonic ?? (() => performance.now());
  const random = opts.random ?? Math.random;
  const timing = { intervalMs: opts.intervalMs, jitter: opts.jitter ?? 0.1, backoff: opts.backoff ?? DEFAULT_BACKOFF, syncTimeoutMs: opts.syncTimeoutMs };
  const state: LoopState = { phase: 'new', lastTick: null, lastTickMono: null, lastResult: null, lastSuccessAt: null, consecutiveFailures: 0, nextRunAt: null, cycles: 0 };
  let pending = false;
  let wake: AbortController | null = null;
  let syncCtrl: AbortController | null = null;
  let inFlight: Promise<void> | null = null;
  let loopDone: Promise<void> = Promise.resolve();
  let stopping: Promise<StopResult> | null = null;
  /** The random roll of the wait after the sync in flight, drawn when it starts so outlook() can tell it. */
  let roll = 0.5;

  /** Sleeps until `ms` passed, a trigger, or stop; never throws. */
  async function wait(ms: number): Promise<void> {
    if (ms <= 0 || pending || state.phase === 'stopping') return;
    const ctrl = new AbortController();
    wake = ctrl;
    state.phase = 'waiting';
    state.nextRunAt = new Date(clock.now().getTime() + ms);
    try {
      await clock.sleep(ms, ctrl.signal);
    } catch {
      // Woken by trigger() or stop().
    } finally {
      wake = null;
      state.nextRunAt = null;
    }
  }

  async function runOnce(reason: CycleReason): Promise<void> {
    pending = false;
    roll = random();
    const ctrl = new AbortController();
    syncCtrl = ctrl;
    state.phase = 'syncing';
    const startedAt = clock.now();
    state.lastTick = startedAt;
    state.lastTickMono = monotonic();
    const timeoutMs = timing.syncTimeoutMs;
    const timeout = timeoutMs === undefined ? null : new AbortController();
    if (timeout && timeoutMs !== undefined) {
      clock.sleep(timeoutMs, timeout.signal).then(
        () => {
          log.warn({ timeoutMs }, 'Sync timed out, aborting it');
          // Named as AbortSignal.timeout() names its reason: the sync reports a timeout, not a stop.
          ctrl.abort(Object.assign(new Error(`sync timed out after ${Math.round(timeoutMs / 1000)} s`), { name: 'TimeoutError' }));
        },
        () => undefined,
      );
    }
    let ok = false;
    let error: unknown;
    let outcome: SyncOutcome | undefined;
    try {
      outcome = await opts.sync(ctrl.signal);
      ok = outcome?.ok === true;
    } catch (err) {
      error = err;
      log.error({ err, reason }, 'Sync failed');
    } finally {
      timeout?.abort();
      syncCtrl = null;
    }
    const finishedAt = clock.now();
    state.lastTick = finishedAt;
    state.lastTickMono = monotonic();
    state.cycles += 1;
    state.lastResult = ok ? 'ok' : 'error';
    state.consecutiveFailures = ok ? 0 : state.consecutiveFailures + 1;
    if (ok) state.lastSuccessAt = finishedAt;
    const info: CycleInfo = { reason, startedAt, finishedAt, durationMs: finishedAt.getTime() - startedAt.getTime(), ok, consecutiveFailures: state.consecutiveFailures };
    if (outcome !== undefined) info.outcome = outcome;
    if (error !== undefined) info.error = error;
    try {
      opts.onCycle?.(info);
    } catch (err) {
      log.error({ err }, 'Cycle hook failed');
    }
  }

  async function run(): Promise<void> {
    await wait(Math.floor(random() * (opts.startDelayMaxMs ?? 0)));
    let reason: CycleReason = 'start';
    while (stopping === null) {
      inFlight = runOnce(reason);
      await inFlight;
      inFlight = null;
      if (stopping !== null) break;
      const delay = nextDelayMs(state.consecutiveFailures, timing.intervalMs, timing.jitter, timing.backoff, roll);
      if (state.consecutiveFailures > 0) log.warn({ consecutiveFailures: state.consecutiveFailures, retryInMs: delay }, 'Sync failed, backing off');
      await wait(delay);
      reason = pending ? 'trigger' : state.consecutiveFailures > 0 ? 'backoff' : 'interval';
    }
  }

  /** Resolves true when `p` settles within `ms`, false otherwise; cancels its own timer. */
  async function within(p: Promise<void>, ms: number): Promise<boolean> {
    const timer = new AbortController();
    try {
      return await Promise.race([p.then(() => true), clock.sleep(ms, timer.signal).then(() => false, () => false)]);
    } finally {
      timer.abort();
    }
  }

  async function doStop(): Promise<StopResult> {
    const running = inFlight;
    state.phase = 'stopping';
    wake?.abort();
    const result: StopResult = { inFlight: running !== null, aborted: false, clean: true };
    if (running) {
      log.info({}, 'Stopping: waiting for the sync in flight');
      if (!(await within(running, opts.stopGraceMs ?? 30_000))) {
        result.aborted = true;
        syncCtrl?.abort(new Error('daemon stopping'));
        result.clean = await within(running, opts.stopAbortGraceMs ?? 5_000);
      }
    }
    if (result.clean) await loopDone;
    state.phase = 'stopped';
    state.nextRunAt = null;
    log.info({ ...result }, 'Loop stopped');
    return result;
  }

  return {
    start() {
      if (state.phase !== 'new') return;
      state.phase = 'waiting';
      state.lastTick = clock.now();
      state.lastTickMono = monotonic();
      loopDone = run().catch((err: unknown) => {
        // run() catches everything itself; this only guards against a bug in it.
        log.error({ err }, 'Daemon loop crashed');
      });
    },
    trigger(reason = 'manual') {
      if (stopping !== null) return;
      log.debug({ reason, coalesced: inFlight !== null }, 'Sync triggered');
      pending = true;
      wake?.abort();
    },
    stop() {
      stopping ??= doStop();
      return stopping;
    },
    state: () => ({ ...state }),
    reconfigure(next) {
      for (const [k, v] of Object.entries(next)) if (v !== undefined) Object.assign(timing, { [k]: v });
    },
    outlook(ok) {
      if (state.phase !== 'syncing') return { consecutiveFailures: state.consecutiveFailures, nextRunAt: state.nextRunAt };
      const failures = ok ? 0 : state.consecutiveFailures + 1;
      const delay = nextDelayMs(failures, timing.intervalMs, timing.jitter, timing.backoff, roll);
      return { consecutiveFailures: failures, nextRunAt: new Date(clock.now().getTime() + delay) };
    },
  };
}

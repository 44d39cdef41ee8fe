/**
 * Health and metrics routes: `/healthz` (the loop is alive), `/readyz` (the last sync was ok)
 * and `/metrics` (Prometheus text). They are served on 127.0.0.1 by default; webhooks get a
 * listener of their own (see {@link planListeners}) because the Git host must reach them.
 */
import type { BackoffPolicy, LoopState } from './loop.js';
import type { HttpReply, HttpRoute, ListenAddress } from './http.js';
import { json } from './http.js';
import type { PromMetrics } from './metrics.js';

/** A verdict of a probe. */
export interface Probe {
  ok: boolean;
  reason: string;
}

/**
 * How long the loop may go without a tick before it counts as dead: `n` times the longest
 * wait it can choose (interval with 10% jitter, or the backoff cap), plus the sync timeout.
 */
export function staleAfterMs(intervalMs: number, backoff: BackoffPolicy, syncTimeoutMs = 0, n = 3): number {
  return n * Math.max(Math.ceil(intervalMs * 1.1), backoff.maxMs) + syncTimeoutMs;
}

/** Pure: is the loop alive at `nowMono` (monotonic ms, the clock of `state.lastTickMono`)? */
export function liveness(state: LoopState, nowMono: number, staleMs: number): Probe {
  if (state.phase === 'stopping' || state.phase === 'stopped') return { ok: false, reason: `loop ${state.phase}` };
  if (state.phase === 'new' || state.lastTickMono === null) return { ok: false, reason: 'loop not started' };
  const age = nowMono - state.lastTickMono;
  if (age > staleMs) return { ok: false, reason: `no loop progress for ${Math.round(age / 1000)}s (${state.phase})` };
  return { ok: true, reason: `loop ${state.phase}, last tick ${Math.round(age / 1000)}s ago` };
}

/** Pure: is the agent ready, i.e. did the last sync succeed? */
export function readiness(state: LoopState): Probe {
  if (state.lastResult === null) return { ok: false, reason: 'no sync finished yet' };
  if (state.lastResult !== 'ok') return { ok: false, reason: `last sync failed (${state.consecutiveFailures} in a row)` };
  return { ok: true, reason: 'last sync ok' };
}

/** Options of {@link healthRoutes}. */
export interface HealthOptions {
  state(): LoopState;
  /** Monotonic milliseconds, the clock of the loop's `lastTickMono` [performance.now]. */
  monotonic?(): number;
  /** See {@link staleAfterMs}; a function when it can change (reload). */
  staleAfterMs: number | (() => number);
  metrics?: PromMetrics;
}

function probeReply(p: Probe, state: LoopState): HttpReply {
  return json(p.ok ? 200 : 503, {
    status: p.ok ? 'ok' : 'fail',
    reason: p.reason,
    phase: state.phase,
    lastTick: state.lastTick?.toISOString() ?? null,
    lastResult: state.lastResult,
    lastSuccessAt: state.lastSuccessAt?.toISOString() ?? null,
    consecutiveFailures: state.consecutiveFailures,
    nextRunAt: state.nextRunAt?.toISOString() ?? null,
  });
}

const methodNotAllowed = (): HttpReply => json(405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
const isRead = (m: string): boolean => m === 'GET' || m === 'HEAD';

/** `/healthz`, `/readyz` and, with metrics, `/metrics`. */
export function healthRoutes(opts: HealthOptions): HttpRoute[] {
  const probe = (path: string, check: (s: LoopState) => Probe): HttpRoute => ({
    matches: (p) => p === path,
    precheck: (req) => (isRead(req.method) ? null : methodNotAllowed()),
    handle: () => {
      const s = opts.state();
      return probeReply(check(s), s);
    },
    maxBodyBytes: 0,
  });
  const stale = (): number => (typeof opts.staleAfterMs === 'number' ? opts.staleAfterMs : opts.staleAfterMs());
  const routes = [probe('/healthz', (s) => liveness(s, opts.monotonic?.() ?? performance.now(), stale())), probe('/readyz', readiness)];
  const metrics = opts.metrics;
  if (metrics) {
    routes.push({
      matches: (p) => p === '/metrics',
      precheck: (req) => (isRead(req.method) ? null : methodNotAllowed()),
      handle: async () => {
        metrics.consecutiveFailures(opts.state().consecutiveFailures);
        return { status: 200, headers: { 'content-type': metrics.contentType }, body: await metrics.render() };
      },
      maxBodyBytes: 0,
    });
  }
  return routes;
}

/** One listener to start, with the routes it serves. */
export interface PlannedListener {
  address: ListenAddress;
  serves: ('health' | 'webhooks')[];
}

/**
 * Pure: which listeners to start. Health defaults to 127.0.0.1 only; webhooks need an address
 * the Git host can reach, so they get their own listener, unless both addresses are equal.
 */
export function planListeners(health: ListenAddress | null, webhooks: ListenAddress | null): PlannedListener[] {
  const out: PlannedListener[] = [];
  if (health) out.push({ address: health, serves: ['health'] });
  if (webhooks) {
    const same = out.find((l) => l.address.host === webhooks.host && l.address.port === webhooks.port && webhooks.port !== 0);
    if (same) same.serves.push('webhooks');
    else out.push({ address: webhooks, serves: ['webhooks'] });
  }
  return out;
}

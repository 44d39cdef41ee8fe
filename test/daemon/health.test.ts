import { describe, expect, it } from 'vitest';
import { healthRoutes, liveness, planListeners, readiness, staleAfterMs } from '../../src/daemon/health.js';
import type { HttpRoute } from '../../src/daemon/http.js';
import type { LoopState } from '../../src/daemon/loop.js';
import { createMetrics } from '../../src/daemon/metrics.js';

const T0 = new Date('2026-11-23T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const base: LoopState = { phase: 'waiting', lastTick: T0, lastTickMono: 5_000, lastResult: 'ok', lastSuccessAt: T0, consecutiveFailures: 0, nextRunAt: at(60), cycles: 1 };

async function get(routes: HttpRoute[], path: string, method = 'GET') {
  const route = routes.find((r) => r.matches(path));
  if (!route) return { status: 404, body: '' };
  const head = { method, path, headers: {}, remoteAddress: '127.0.0.1' };
  return route.precheck?.(head) ?? (await route.handle({ ...head, body: Buffer.alloc(0) }));
}

describe('daemon/health', () => {
  it('staleAfterMs is n times the longest wait plus the sync timeout', () => {
    expect(staleAfterMs(60_000, { baseMs: 5_000, maxMs: 300_000 }, 600_000)).toBe(3 * 300_000 + 600_000);
    expect(staleAfterMs(600_000, { baseMs: 5_000, maxMs: 300_000 })).toBe(3 * 660_000);
  });

  it.each`
    name                        | state                                                          | after   | ok
    ${'fresh tick'}             | ${base}                                                        | ${100}  | ${true}
    ${'stale tick'}             | ${base}                                                        | ${301}  | ${false}
    ${'long sync still fresh'}  | ${{ ...base, phase: 'syncing' }}                               | ${299}  | ${true}
    ${'hung sync'}              | ${{ ...base, phase: 'syncing' }}                               | ${1000} | ${false}
    ${'not started'}            | ${{ ...base, phase: 'new', lastTick: null, lastTickMono: null }} | ${0}    | ${false}
    ${'stopping'}               | ${{ ...base, phase: 'stopping' }}                              | ${0}    | ${false}
    ${'failing but alive'}      | ${{ ...base, lastResult: 'error' }}                            | ${10}   | ${true}
  `('liveness: $name → $ok', ({ state, after, ok }: { state: LoopState; after: number; ok: boolean }) => {
    expect(liveness(state, 5_000 + after * 1000, 300_000).ok).toBe(ok);
  });

  it('liveness counts monotonic time: a wall clock stepped a day either way neither fails a live loop nor hides a hung one', () => {
    const live = { ...base, lastTick: at(86_400) }; // ticked 10 s ago, the wall clock then a day ahead
    const hung = { ...base, phase: 'syncing' as const, lastTick: at(-86_400) }; // hung 1000 s, clock a day behind

    expect(liveness(live, 5_000 + 10_000, 300_000)).toMatchObject({ ok: true });
    expect(liveness(hung, 5_000 + 1_000_000, 300_000)).toMatchObject({ ok: false, reason: 'no loop progress for 1000s (syncing)' });
  });

  it.each`
    lastResult | ok
    ${'ok'}    | ${true}
    ${'error'} | ${false}
    ${null}    | ${false}
  `('readiness with lastResult=$lastResult → $ok', ({ lastResult, ok }) => {
    expect(readiness({ ...base, lastResult }).ok).toBe(ok);
  });

  it('serves /healthz, /readyz and /metrics with the right status codes', async () => {
    let state: LoopState = base;
    const metrics = createMetrics({ processMetrics: false });
    const routes = healthRoutes({ state: () => state, monotonic: () => 15_000, staleAfterMs: 300_000, metrics });

    const healthy = await get(routes, '/healthz');
    const ready = await get(routes, '/readyz');
    state = { ...base, lastResult: 'error', consecutiveFailures: 3 };
    const notReady = await get(routes, '/readyz');
    const stillAlive = await get(routes, '/healthz');
    const scrape = await get(routes, '/metrics');
    const post = await get(routes, '/healthz', 'POST');

    expect([healthy.status, ready.status, notReady.status, stillAlive.status, post.status]).toEqual([200, 200, 503, 200, 405]);
    expect(JSON.parse(notReady.body)).toMatchObject({ status: 'fail', lastResult: 'error', consecutiveFailures: 3, lastTick: T0.toISOString() });
    expect(scrape.body).toContain('cronsync_consecutive_failures 3');
  });

  it('has no /metrics route without metrics', async () => {
    const routes = healthRoutes({ state: () => base, monotonic: () => 5_000, staleAfterMs: 1 });

    expect((await get(routes, '/metrics')).status).toBe(404);
  });

  it('plans one listener when health and webhooks share an address, two otherwise', () => {
    const local = { host: '127.0.0.1', port: 9464 };

    expect(planListeners(local, { ...local })).toEqual([{ address: local, serves: ['health', 'webhooks'] }]);
    expect(planListeners(local, { host: '0.0.0.0', port: 9465 }).map((l) => l.serves)).toEqual([['health'], ['webhooks']]);
    expect(planListeners(null, { host: '0.0.0.0', port: 9465 }).map((l) => l.serves)).toEqual([['webhooks']]);
    expect(planListeners(null, null)).toEqual([]);
  });
});

describe('daemon/metrics', () => {
  it('exports sync duration, last success, jobs by state, fetches and check-ins', async () => {
    const m = createMetrics({ processMetrics: false });

    m.syncFinished('ok', 1500, T0);
    m.syncFinished('error', 200, at(60));
    m.jobsByState({ installed: 4, paused: 1 });
    m.jobsByState({ installed: 3 });
    m.sourceFetch('ok');
    m.sourceFetch('error');
    m.checkin('sent');
    m.checkin('spooled');
    m.checkin('spooled');
    m.checkin('dropped');
    const text = await m.render();

    expect(text).toContain('cronsync_sync_duration_seconds_count{result="ok"} 1');
    expect(text).toContain('cronsync_sync_duration_seconds_bucket{le="2.5",result="ok"} 1');
    expect(text).toContain(`cronsync_last_success_timestamp_seconds ${T0.getTime() / 1000}`);
    expect(text).toContain(`cronsync_last_attempt_timestamp_seconds ${at(60).getTime() / 1000}`);
    expect(text).toContain('cronsync_jobs{state="installed"} 3');
    expect(text).toContain('cronsync_jobs{state="paused"} 0');
    expect(text).toContain('cronsync_source_fetches_total{result="error"} 1');
    expect(text).toContain('cronsync_checkins_total{outcome="spooled"} 2');
    expect(text).toContain('cronsync_checkins_total{outcome="failed"} 0');
    expect(text).toContain('cronsync_checkins_total{outcome="dropped"} 1');
    expect(text).toContain('cronsync_syncs_total{result="error"} 1');
  });

  it('includes process metrics by default, and registries are independent', async () => {
    const a = createMetrics();
    const b = createMetrics({ processMetrics: false });

    a.checkin('sent');

    expect(await a.render()).toContain('process_resident_memory_bytes');
    expect(await b.render()).toContain('cronsync_checkins_total{outcome="sent"} 0');
  });
});

import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { healthRoutes } from '../../src/daemon/health.js';
import { listen } from '../../src/daemon/http.js';
import type { HttpListener } from '../../src/daemon/http.js';
import type { LoopState } from '../../src/daemon/loop.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import { WEBHOOK_PROVIDERS, webhookRoute } from '../../src/daemon/webhooks.js';
import { nullLogger } from '../../src/log.js';
import { signHook } from '../fakes/webhookSigner.js';

const SECRET = 'e2e-webhook-secret-0123456789abcdef';
const T0 = new Date('2026-11-23T10:00:00Z');
const state: LoopState = { phase: 'waiting', lastTick: T0, lastTickMono: 0, lastResult: 'ok', lastSuccessAt: T0, consecutiveFailures: 0, nextRunAt: null, cycles: 1 };
const listeners: HttpListener[] = [];

async function start(opts: { burst?: number } = {}) {
  const triggers: string[] = [];
  const metrics = createMetrics({ processMetrics: false });
  const routes = [
    ...healthRoutes({ state: () => state, monotonic: () => 0, staleAfterMs: 60_000, metrics }),
    webhookRoute({ secret: SECRET, trigger: (r) => triggers.push(r), log: nullLogger, metrics, rateLimit: { burst: opts.burst ?? 100, perMinute: 1 } }),
  ];
  const l = await listen({ host: '127.0.0.1', port: 0, routes, log: nullLogger });
  listeners.push(l);
  return { url: `http://127.0.0.1:${l.address.port}`, port: l.address.port, triggers };
}

/** A raw POST with a chunked body (no Content-Length), so the cap is enforced while reading. */
function postChunked(port: number, path: string, headers: Record<string, string>, chunks: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    const write = (i: number): void => {
      if (i >= chunks.length) return void req.end();
      if (req.destroyed) return;
      req.write(chunks[i], () => write(i + 1));
    };
    write(0);
  });
}

afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

describe('e2e daemon http', () => {
  it('serves health, readiness and Prometheus metrics on 127.0.0.1', async () => {
    const { url } = await start();

    const h = await fetch(`${url}/healthz`);
    const r = await fetch(`${url}/readyz`);
    const m = await fetch(`${url}/metrics`);
    const nf = await fetch(`${url}/nope`);

    expect([h.status, r.status, m.status, nf.status]).toEqual([200, 200, 200, 404]);
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect(await m.text()).toContain('# TYPE cronsync_sync_duration_seconds histogram');
  });

  it.each(WEBHOOK_PROVIDERS.map((p) => [p]))('%s: valid 202, invalid 401, missing 401, replay 200', async (provider) => {
    const { url, triggers } = await start();
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main' }));
    const post = (headers: Record<string, string>) => fetch(`${url}/hooks/${provider}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

    const valid = await post(signHook(provider, body, 'id-1', SECRET));
    const invalid = await post(signHook(provider, body, 'id-2', 'wrong-secret-wrong-secret-000'));
    const missing = await post({ 'x-github-delivery': 'id-3' });
    const replay = await post(signHook(provider, body, 'id-1', SECRET));

    expect([valid.status, invalid.status, missing.status, replay.status]).toEqual([202, 401, 401, 200]);
    expect(triggers).toEqual([`webhook:${provider}`]);
  });

  it('answers 413 to a body over 1 MiB, announced or streamed, without triggering', async () => {
    const { url, port, triggers } = await start();
    const big = Buffer.alloc(1024 * 1024 + 1, 0x61);
    const headers = signHook('github', big, 'big', SECRET);

    const announced = await fetch(`${url}/hooks/github`, { method: 'POST', headers, body: big });
    const streamed = await postChunked(port, '/hooks/github', headers, Array.from({ length: 17 }, () => Buffer.alloc(64 * 1024, 0x61)));

    expect(announced.status).toBe(413);
    expect(streamed).toBe(413);
    expect(triggers).toEqual([]);
  });

  it('answers 429 with Retry-After once the bucket is empty', async () => {
    const { url } = await start({ burst: 1 });
    const body = Buffer.from('{}');

    const first = await fetch(`${url}/hooks/generic`, { method: 'POST', headers: signHook('generic', body, 'a', SECRET), body });
    const second = await fetch(`${url}/hooks/generic`, { method: 'POST', headers: signHook('generic', body, 'b', SECRET), body });

    expect([first.status, second.status]).toEqual([202, 429]);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('reports an address in use as a ConfigError', async () => {
    const { port } = await start();

    await expect(listen({ host: '127.0.0.1', port, routes: [], log: nullLogger })).rejects.toBeInstanceOf(ConfigError);
  });
});

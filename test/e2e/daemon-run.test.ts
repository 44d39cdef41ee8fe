import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncOutcome } from '../../src/daemon/loop.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import { runDaemon } from '../../src/daemon/run.js';
import type { RunDaemonOptions, RunningDaemon } from '../../src/daemon/run.js';
import { ConfigError } from '../../src/errors.js';
import { nullLogger } from '../../src/log.js';
import { ManualClock, flush } from '../fakes/ManualClock.js';
import { signHook } from '../fakes/webhookSigner.js';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const SECRET = 'run-test-webhook-secret-000000';
const running: RunningDaemon[] = [];

class FakeSignals extends EventEmitter {
  send(sig: NodeJS.Signals): void {
    this.emit(sig);
  }
}

async function start(over: Partial<RunDaemonOptions> = {}, results: (SyncOutcome | Error)[] = []) {
  const clock = new ManualClock(T0);
  const signals = new FakeSignals();
  const metrics = createMetrics({ processMetrics: false });
  const syncs: number[] = [];
  const d = await runDaemon({
    sync: async () => {
      syncs.push(clock.now().getTime() - T0);
      const r = results.shift() ?? { ok: true, result: 'ok', jobsByState: { installed: 2 } };
      if (r instanceof Error) throw r;
      return r;
    },
    intervalMs: 60_000,
    backoff: { baseMs: 5_000, maxMs: 600_000 },
    health: { host: '127.0.0.1', port: 0 },
    webhooks: { address: { host: '127.0.0.1', port: 0 }, secret: SECRET },
    clock,
    log: nullLogger,
    metrics,
    signals,
    random: () => 0.5,
    ...over,
  });
  running.push(d);
  const url = (i: number) => `http://127.0.0.1:${d.listeners[i]?.address.port}`;
  return { d, clock, signals, syncs, url };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

describe('e2e daemon run', () => {
  it('serves health on one listener and webhooks on another; a webhook triggers a sync', async () => {
    const { d, clock, syncs, url } = await start();
    await clock.advance(0);

    const ready = await fetch(`${url(0)}/readyz`);
    const metrics = await (await fetch(`${url(0)}/metrics`)).text();
    const hookOnHealth = await fetch(`${url(0)}/hooks/github`, { method: 'POST', body: '{}' });
    const body = Buffer.from('{}');
    const hook = await fetch(`${url(1)}/hooks/github`, { method: 'POST', headers: signHook('github', body, 'd1', SECRET), body });
    await clock.advance(0);

    expect(d.listeners).toHaveLength(2);
    expect(ready.status).toBe(200);
    expect(metrics).toContain('cronsync_jobs{state="installed"} 2');
    expect(metrics).toContain('cronsync_syncs_total{result="ok"} 1');
    expect(hookOnHealth.status).toBe(404);
    expect(hook.status).toBe(202);
    expect(syncs).toEqual([0, 0]);
  });

  it('SIGHUP rotates the webhook secret: the old one is refused, the new one accepted; a failed reload keeps it', async () => {
    const NEW = 'rotated-webhook-secret-11111111';
    let reloads = 0;
    const reload = async () => {
      reloads++;
      if (reloads === 2) throw new ConfigError('bad config');
      return { webhookSecret: NEW };
    };
    const { clock, signals, url } = await start({ reload, health: null });
    await clock.advance(0);
    const body = Buffer.from('{}');
    const call = (id: string, secret: string) => fetch(`${url(0)}/hooks/github`, { method: 'POST', headers: signHook('github', body, id, secret), body });

    const before = await call('r1', SECRET);
    signals.send('SIGHUP');
    await flush();
    const oldAfter = await call('r2', SECRET);
    const newAfter = await call('r3', NEW);
    signals.send('SIGHUP');
    await flush();
    const afterFailed = await call('r4', NEW);

    expect([before.status, oldAfter.status, newAfter.status, afterFailed.status]).toEqual([202, 401, 202, 202]);
  });

  it('keeps running through failures; /readyz goes 503 and back', async () => {
    const { clock, url } = await start({}, [new Error('git down'), { ok: false, result: 'error' }]);
    await clock.advance(0);

    const failing = await fetch(`${url(0)}/readyz`);
    await clock.advance(5_000 + 10_000);
    const recovered = await fetch(`${url(0)}/readyz`);
    const alive = await fetch(`${url(0)}/healthz`);

    expect(failing.status).toBe(503);
    expect(recovered.status).toBe(200);
    expect(alive.status).toBe(200);
  });

  it('SIGTERM stops the loop, closes the listeners and resolves done', async () => {
    const { d, clock, signals, url, syncs } = await start();
    await clock.advance(0);
    const health = url(0);

    signals.send('SIGTERM');
    const result = await d.done;
    await clock.advance(600_000);

    expect(result).toEqual({ inFlight: false, aborted: false, clean: true });
    expect(syncs).toEqual([0]);
    await expect(fetch(`${health}/healthz`)).rejects.toThrow();
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGHUP')).toBe(0);
  });

  it('SIGHUP applies a reloaded interval and syncs; a failed reload keeps the old one', async () => {
    let reloads = 0;
    const reload = async () => {
      reloads++;
      if (reloads === 2) throw new ConfigError('bad config');
      return { intervalMs: 10_000 };
    };
    const { d, clock, signals, syncs } = await start({ reload, health: null, webhooks: null });
    await clock.advance(0);

    signals.send('SIGHUP');
    await flush();
    await clock.advance(10_000);
    signals.send('SIGHUP');
    await flush();
    await clock.advance(10_000);

    expect(syncs).toEqual([0, 0, 10_000, 20_000]);
    expect(d.loop.state().phase).toBe('waiting');
  });

  it('fails fast with a ConfigError when a port is taken, leaving nothing open', async () => {
    const first = await start({ webhooks: null });
    const port = first.d.listeners[0]?.address.port ?? 0;

    await expect(start({ health: { host: '127.0.0.1', port }, webhooks: null })).rejects.toBeInstanceOf(ConfigError);
  });

  it('keeps its signal handlers while it stops, so a SIGHUP or second SIGTERM cannot kill the apply in flight', async () => {
    let release: () => void = () => undefined;
    let reloads = 0;
    const reload = async () => {
      reloads++;
      return {};
    };
    const clock = new ManualClock(T0);
    const signals = new FakeSignals();
    const d = await runDaemon({
      sync: () => new Promise<SyncOutcome>((r) => (release = () => r({ ok: true }))),
      intervalMs: 60_000,
      backoff: { baseMs: 5_000, maxMs: 600_000 },
      health: null,
      webhooks: null,
      reload,
      clock,
      log: nullLogger,
      signals,
      random: () => 0.5,
    });
    running.push(d);
    await clock.advance(0);

    signals.send('SIGTERM');
    await flush();
    const during = { hup: signals.listenerCount('SIGHUP'), term: signals.listenerCount('SIGTERM'), int: signals.listenerCount('SIGINT') };
    signals.send('SIGHUP');
    signals.send('SIGTERM');
    await flush();
    release();
    const result = await d.done;

    expect(during).toEqual({ hup: 1, term: 1, int: 1 });
    expect(reloads).toBe(0);
    expect(result).toEqual({ inFlight: true, aborted: false, clean: true });
    expect(signals.listenerCount('SIGHUP') + signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  });
});


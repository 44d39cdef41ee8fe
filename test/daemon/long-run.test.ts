/**
 * A daemon that runs for months while its repository churns: the poll loop around a real
 * reconciler, the embedded scheduler running jobs through the shim, its metrics, and the spool
 * flush it kicks every cycle. What each keeps, in memory and in the state dir, follows the
 * current jobs and the current flush, not every job, run or check-in ever seen.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBackgroundTask } from '../../src/daemon/background.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import { runDaemon } from '../../src/daemon/run.js';
import { nullLogger } from '../../src/log.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { createEmbeddedAdapter } from '../../src/scheduler/embedded/index.js';
import { runExec } from '../../src/shim/run.js';
import { flushSpool } from '../../src/shim/spool.js';
import { createDirSource } from '../../src/source/dir.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import type { HttpClient } from '../../src/system/http.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { FakeRunner } from '../fakes/FakeRunner.js';
import { ManualTimers } from '../fakes/ManualTimers.js';
import { agentConfig, churnedJobs, jobManifest } from '../reconcile/fixtures.js';
import { listFiles } from '../e2e/fixtures/sync-cli.js';
import { testTempDir } from '../system/tempdir.js';

const list = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

/**
 * How many composite signals (`AbortSignal.any`) Node keeps on `signal`: its internal
 * kDependantSignals, which Node 20 never prunes while `signal` lives; 0 where there is none.
 */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  return key === undefined ? 0 : ((signal as unknown as Record<symbol, Set<unknown> | undefined>)[key]?.size ?? 0);
}

const sink = { write: () => true };

describe('daemon/long-run', () => {
  it('40 cycles of a daemon whose embedded jobs churn and run every minute keep timers, run records, markers, memory and metrics to the current jobs', async () => {
    const root = testTempDir('cronsync-daemon-longrun-');
    const src = join(root, 'src');
    const stateDir = join(root, 'state');
    mkdirSync(src);
    const timers = new ManualTimers(Date.UTC(2026, 10, 23, 10, 0, 30));
    const wall = { now: () => timers.clock.now(), sleep: async () => undefined };
    const state = createFsStateStore(stateDir);
    const runner = new FakeRunner();
    const source = createDirSource({ url: src, paths: ['**/*.yaml'], exclude: [] }, src, { now: wall.now });
    const adapter = createEmbeddedAdapter({
      sourceId: source.id, stateDir, clock: timers.clock, timers, monotonic: timers.monotonic, log: nullLogger,
      runJob: (jobId, scheduledFor) => runExec({ jobId, stateDir, state, scheduled: true, scheduledFor, inProcess: true, clock: wall, http: new FakeHttp(), runner, log: nullLogger, env: {}, stdout: sink, stderr: sink }),
    });
    const config = agentConfig(stateDir, { source: { url: src, paths: ['**/*.yaml'], exclude: [], interval: '60s', timeout: '60s' } });
    const rec = createReconciler({ config, source, adapter, scheduler: { kind: 'embedded', reason: 'test' }, clock: wall, log: nullLogger, state });
    const metrics = createMetrics({ processMetrics: false });
    const { live, add } = churnedJobs(src, '* * * * *');
    for (let i = 0; i < 16; i++) add();
    await adapter.start();
    const seen = { memory: 0, armed: 0, stray: [] as string[], records: [] as string[], markers: 0, locks: 0, metricLines: [] as number[], runs: 0 };
    const CYCLES = 40;
    let cycle = 0;
    let stop: () => void = () => undefined;

    const daemon = await runDaemon({
      intervalMs: 60_000, backoff: { baseMs: 5_000, maxMs: 600_000 }, health: null, webhooks: null, clock: new FakeClock(), log: nullLogger, metrics,
      async sync(signal) {
        if (cycle > 0) {
          for (const name of live.splice(0, 6)) rmSync(join(src, `${name}.yaml`));
          for (let i = 0; i < 6; i++) add();
          for (const name of live.slice(6, 9)) writeFileSync(join(src, `${name}.yaml`), jobManifest(name, `*/${(cycle % 3) + 1} * * * *`, cycle % 2 === 0));
        }
        // The metrics as the loop left them after the first sync.
        if (cycle === 1) seen.metricLines.push((await metrics.render()).split('\n').length);
        const out = await rec.reconcile({ signal });
        // A minute of the embedded scheduler: every armed job fires once, through the shim.
        timers.advance(60_000);
        await Promise.all(adapter.running());
        const names = new Set(live);
        seen.memory = Math.max(seen.memory, ...Object.values(rec.memorySizes()));
        const armed = adapter.upcoming().map((u) => u.jobId.slice('acme/'.length));
        seen.armed = Math.max(seen.armed, armed.length);
        seen.stray.push(...armed.filter((n) => !names.has(n)));
        seen.records.push(...list(join(stateDir, 'runs', 'acme')).map((f) => f.replace(/\.json$/, '')).filter((n) => !names.has(n)));
        seen.markers = Math.max(seen.markers, listFiles(join(stateDir, 'runs')).length - list(join(stateDir, 'runs', 'acme')).filter((f) => f.endsWith('.json')).length);
        seen.locks = Math.max(seen.locks, listFiles(join(stateDir, 'locks')).length);
        if (++cycle === CYCLES) stop();
        const byState: Record<string, number> = {};
        for (const j of out.status.jobs) byState[j.state] = (byState[j.state] ?? 0) + 1;
        return { ok: out.result !== 'error', result: out.result, jobsByState: byState };
      },
    });
    stop = () => void daemon.stop();
    await daemon.done;
    adapter.stop();
    seen.runs = runner.calls.length;
    seen.metricLines.push((await metrics.render()).split('\n').length);

    expect(daemon.loop.state().cycles).toBe(CYCLES);
    // Every cycle started runs, some 550 in all; a job lives about three cycles.
    expect(seen.runs).toBeGreaterThan(CYCLES * 12);
    expect({ memory: seen.memory, armed: seen.armed, stray: seen.stray, records: seen.records, locks: seen.locks }).toEqual({ memory: 16, armed: 16, stray: [], records: [], locks: 0 });
    expect(seen.markers).toBeLessThanOrEqual(16 * 3);
    expect(seen.metricLines[1]).toBe(seen.metricLines[0]);
    expect(listFiles(join(stateDir, 'jobs'))).toHaveLength(16);
  }, 30_000);

  it('the spool flush kicked after each of 200 syncs hands no signal more composites than one flush makes', async () => {
    const stateDir = testTempDir('cronsync-daemon-flush-');
    const state = createFsStateStore(stateDir);
    const clock = new FakeClock();
    const signals = new Set<AbortSignal>();
    // As createUndiciHttpClient does: each request's signal joined with its own timeout.
    const http: HttpClient = {
      async request(req) {
        signals.add(req.signal!);
        AbortSignal.any([req.signal!, AbortSignal.timeout(10_000)]);
        return { statusCode: 200, headers: {}, body: '' };
      },
    };
    // The count is read from Node's internals: it must see a composite for the check to mean anything.
    const probe = new AbortController();
    const composite = AbortSignal.any([probe.signal]);
    expect(dependants(probe.signal)).toBe(1);
    expect(composite.aborted).toBe(false);
    let flushed = 0;
    const errors: unknown[] = [];
    const task = createBackgroundTask(async (signal) => {
      const r = await flushSpool({ stateDir, state, http, clock, log: nullLogger, env: {}, budgetMs: 10_000, signal });
      flushed += r.delivered;
    }, (err) => errors.push(err));

    for (let cycle = 0; cycle < 200; cycle++) {
      for (let i = 0; i < 5; i++) {
        const runId = `c${cycle}-r${i}`;
        state.writeSpool({
          version: 1, protocol: 'crontopus', url: 'http://127.0.0.1:9/api/checkins', jobId: 'acme/job', createdAt: clock.now().toISOString(), secretRef: null, owner: null,
          payload: { job_name: 'job', tenant: 'acme', status: 'success', started_at: 'x', agent_id: 'h', run_id: runId, attempts: 1, commit: null },
        }, false);
      }
      task.kick();
      while (task.running()) await new Promise((r) => setImmediate(r));
      clock.advance(60_000);
    }
    await task.stop();

    expect({ flushed, errors }).toEqual({ flushed: 1000, errors: [] });
    expect(Math.max(...[...signals].map(dependants))).toBeLessThanOrEqual(5);
  }, 30_000);
});

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config/types.js';
import { nullLogger } from '../../src/log.js';
import { SYNC_LOCK_WAIT_MS } from '../../src/reconcile/lock.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { selfIdentity } from '../../src/shim/lock.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import type { StateStore } from '../../src/state/store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { TempDirs } from '../system/tempdir.js';
import { agentConfig } from './fixtures.js';

const temps = new TempDirs();
afterEach(() => temps.removeAll());

const manifest = (name: string, schedule = '0 2 * * *'): string => `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "${schedule}"\n  command: /opt/${name}.sh\n`;

const config = (stateDir: string): AgentConfig => agentConfig(stateDir, { scheduler: { kind: 'embedded', cronDir: '/etc/cron.d', unitDir: '/etc/systemd/system', taskFolder: '\\cronsync' } });

/** A reconciler of its own (its own memory, as another process has) over a shared state dir and scheduler. */
function reconciler(state: StateStore, adapter: MemoryScheduler, source: MemorySource, clock = new FakeClock()) {
  return createReconciler({ config: config(state.dir), source, adapter, scheduler: { kind: 'embedded', reason: 'test' }, clock, log: nullLogger, state });
}

/** Records each time `state`'s snapshots are listed: a reconciler reading the state dir afresh. */
function recordReads(state: MemoryStateStore): string[] {
  const reads: string[] = [];
  const listSnapshots = state.listSnapshots.bind(state);
  state.listSnapshots = async () => (reads.push('listSnapshots'), listSnapshots());
  return reads;
}

const holder = { ...selfIdentity(), runId: 'sync', startedAt: '2026-11-23T09:59:00.000Z' };

describe('reconcile/lock: one sync at a time per state dir', () => {
  it('waits for a live holder of the sync lock, then syncs once it is released', async () => {
    const state = new MemoryStateStore('/state', () => true);
    const held = await state.syncLock().tryAcquire(holder);
    if (!held.acquired) throw new Error('the lock should be free');
    const clock = new FakeClock();
    const sleep = clock.sleep.bind(clock);
    clock.sleep = async (ms, signal) => {
      await sleep(ms, signal);
      if (clock.sleeps.length === 3) await held.lock.release();
    };
    const adapter = new MemoryScheduler('src1');

    const out = await reconciler(state, adapter, new MemorySource({ 'a.yaml': manifest('a') }), clock).reconcile();

    expect(out.result).toBe('ok');
    expect(clock.sleeps).toHaveLength(3);
    expect(adapter.writes).toBe(1);
    expect(await state.syncLock().holder()).toBeNull();
  });

  it('gives up after SYNC_LOCK_WAIT_MS with StateDirBusy, touching neither the scheduler nor the status file', async () => {
    const state = new MemoryStateStore('/state', () => true);
    expect((await state.syncLock().tryAcquire(holder)).acquired).toBe(true);
    const clock = new FakeClock();
    const adapter = new MemoryScheduler('src1');

    const out = await reconciler(state, adapter, new MemorySource({ 'a.yaml': manifest('a') }), clock).reconcile();

    expect(out.result).toBe('error');
    expect(out.context.reason).toBe('StateDirBusy');
    expect(out.context.error?.message).toBe(`Another sync holds the state dir /state (pid ${holder.pid}, since ${holder.startedAt}); gave up after waiting 60 s`);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(SYNC_LOCK_WAIT_MS);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThan(SYNC_LOCK_WAIT_MS - 1000);
    expect(adapter.writes).toBe(0);
    expect(state.text('status.json')).toBeNull();
    expect((await state.syncLock().holder())?.runId).toBe('sync');
  });

  it('cancelled while it waits, reports Cancelled and writes no status file (the holder may be writing its own)', async () => {
    const state = new MemoryStateStore('/state', () => true);
    expect((await state.syncLock().tryAcquire(holder)).acquired).toBe(true);
    const clock = new FakeClock();
    const stop = new AbortController();
    const sleep = clock.sleep.bind(clock);
    clock.sleep = async (ms, signal) => {
      if (clock.sleeps.length === 2) stop.abort('SIGTERM');
      await sleep(ms, signal);
    };

    const out = await reconciler(state, new MemoryScheduler('src1'), new MemorySource({ 'a.yaml': manifest('a') }), clock).reconcile({ signal: stop.signal });

    expect(out.result).toBe('error');
    expect(out.context.reason).toBe('Cancelled');
    expect(state.text('status.json')).toBeNull();
  });

  it('takes the lock file of the fs store as the run locks do: held by a live process, waited for; released after the status', async () => {
    const dir = temps.make('cronsync-sync-lock-');
    const state = createFsStateStore(join(dir, 'state'));
    await state.prepare();
    writeFileSync(join(dir, 'state', 'sync.lock'), JSON.stringify(holder));
    const adapter = new MemoryScheduler('src1');
    const source = new MemorySource({ 'a.yaml': manifest('a') });

    const busy = await reconciler(state, adapter, source).reconcile();
    const lockText = readFileSync(join(dir, 'state', 'sync.lock'), 'utf8');
    writeFileSync(join(dir, 'state', 'sync.lock'), JSON.stringify({ ...holder, pid: 2 ** 22 + 7 }));
    const taken = await reconciler(state, adapter, source).reconcile();

    expect(busy.context.reason).toBe('StateDirBusy');
    expect(lockText).toBe(JSON.stringify(holder));
    expect(taken.result).toBe('ok');
    expect(existsSync(join(dir, 'state', 'sync.lock'))).toBe(false);
    expect(existsSync(join(dir, 'state', 'status.json'))).toBe(true);
  });

  it('rereads the state dir when another process synced since: every installed job keeps the snapshot it runs', async () => {
    const state = new MemoryStateStore('/state', () => true);
    const adapter = new MemoryScheduler('src1');
    const a = { 'a.yaml': manifest('a'), 'b.yaml': manifest('b'), 'd.yaml': manifest('d') };
    // The daemon, and a commit of its own that it keeps fetching unchanged.
    const daemon = reconciler(state, adapter, new MemorySource(a));
    expect((await daemon.reconcile()).result).toBe('ok');
    // `cronsync sync` by hand, at another commit: a changed, d deleted.
    const manual = reconciler(state, adapter, new MemorySource({ 'a.yaml': manifest('a', '0 3 * * *'), 'b.yaml': manifest('b') }));
    expect((await manual.reconcile()).result).toBe('ok');
    expect(await state.readSnapshot('acme/d')).toBeNull();

    const out = await daemon.reconcile();

    expect(out.result).toBe('ok');
    expect((await adapter.inventory(new AbortController().signal)).map((e) => e.marker!.jobId).sort()).toEqual(['acme/a', 'acme/b', 'acme/d']);
    expect((await state.readSnapshot('acme/d'))?.job.spec.schedule).toBe('0 2 * * *');
    expect((await state.readSnapshot('acme/a'))?.job.spec.schedule).toBe('0 2 * * *');
  });

  it('reads the state dir afresh after taking over the lock of a sync killed mid-way (its status never written)', async () => {
    const DEAD = 2 ** 22 + 7;
    const state = new MemoryStateStore('/state', (pid) => pid !== DEAD);
    const rec = reconciler(state, new MemoryScheduler('src1'), new MemorySource({ 'a.yaml': manifest('a') }));
    await rec.reconcile();
    expect((await state.syncLock().tryAcquire({ ...holder, pid: DEAD })).acquired).toBe(true); // then kill -9
    const reads = recordReads(state);

    const out = await rec.reconcile();

    expect(out.result).toBe('ok');
    expect(reads).toEqual(['listSnapshots']);
    expect(await state.syncLock().holder()).toBeNull();
  });

  it('a Crontopus patch of a status another process wrote meanwhile is not taken for its own: the next sync reads afresh', async () => {
    const state = new MemoryStateStore('/state', () => true);
    const rec = reconciler(state, new MemoryScheduler('src1'), new MemorySource({ 'a.yaml': manifest('a') }));
    await rec.reconcile();
    const status = await state.readStatus();
    await state.writeStatus({ ...status!, lastSuccess: null }); // another process's sync
    const before = await state.statusStamp();
    await state.writeStatus({ ...status!, crontopus: null } as never); // the daemon's patch
    await rec.statusWritten(before);
    const reads = recordReads(state);

    await rec.reconcile();

    expect(reads).toEqual(['listSnapshots']);
  });

  it.each([
    ['told of it (the daemon\'s own Crontopus block): reads nothing afresh', true, []],
    ['not told of it: takes it for another process\'s sync and reads the snapshots afresh', false, ['listSnapshots']],
  ])('a status file changed after the last sync, %s', async (_what, told, expected) => {
    const state = new MemoryStateStore('/state', () => true);
    const adapter = new MemoryScheduler('src1');
    const rec = reconciler(state, adapter, new MemorySource({ 'a.yaml': manifest('a') }));
    await rec.reconcile();
    const status = await state.readStatus();
    const before = await state.statusStamp();
    await state.writeStatus({ ...status!, lastSuccess: null });
    if (told) await rec.statusWritten(before);
    const reads = recordReads(state);

    const out = await rec.reconcile();

    expect(out.changes).toBe(false);
    expect(reads).toEqual(expected);
  });
});

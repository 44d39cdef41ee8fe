/**
 * The StateStore contract: the same cases against the file-system store (a temp dir) and the
 * in-memory one, so that tests written against memory say something about the real state dir.
 */
import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import type { LastRun } from '../../src/state/runs.js';
import type { StateStore } from '../../src/state/store.js';
import type { SpoolEntry } from '../../src/shim/spool-entry.js';
import type { StatusFile } from '../../src/status/types.js';
import { testTempDir } from '../system/tempdir.js';
import { makeJob, makeSnapshot } from '../shim/fixtures.js';

/** A store, with raw access to its files by path relative to the state dir. */
interface Subject {
  store: StateStore;
  put(rel: string, text: string): void;
  get(rel: string): string | null;
  /** Deletes a file behind the store's back (a power loss taking a file not yet written back). */
  lose(rel: string): void;
  mode(rel: string): number;
}

const subjects: Record<string, () => Subject> = {
  fs: () => {
    const dir = join(testTempDir('cronsync-store-'), 'state');
    const store = createFsStateStore(dir);
    return {
      store,
      put: (rel, text) => {
        mkdirSync(dirname(join(dir, rel)), { recursive: true });
        writeFileSync(join(dir, rel), text);
      },
      lose: (rel) => unlinkSync(join(dir, rel)),
      get: (rel) => {
        try {
          return readFileSync(join(dir, rel), 'utf8');
        } catch {
          return null;
        }
      },
      mode: (rel) => statSync(join(dir, rel)).mode & 0o777,
    };
  },
  memory: () => {
    const store = new MemoryStateStore();
    return {
      store,
      put: (rel, text) => void store.files.set(rel, { text, mode: 0o644 }),
      lose: (rel) => void store.files.delete(rel),
      get: (rel) => store.text(rel),
      mode: (rel) => store.files.get(rel)!.mode,
    };
  },
};

const snap = (name: string, command = '/bin/true') => makeSnapshot(makeJob(name, { command }));
const run = (status: LastRun['status'] = 'success'): LastRun => ({ runId: 'r1', startedAt: '2026-11-23T10:00:00.000Z', finishedAt: '2026-11-23T10:00:01.000Z', status, exitCode: 0, durationMs: 1000, attempts: 1 });
const spoolEntry = (runId: string, createdAt = '2026-11-23T10:00:00.000Z'): SpoolEntry => ({
  version: 1, protocol: 'crontopus', url: 'http://127.0.0.1:9/c', jobId: 'acme/a', createdAt, secretRef: null, owner: null,
  payload: { job_name: 'a', tenant: 'acme', status: 'success', started_at: createdAt, agent_id: 'h', run_id: runId, attempts: 1, commit: null },
});
const status = { schemaVersion: 1, agent: { name: 'h', tenant: 'acme', labels: {}, version: '0' }, scheduler: { kind: 'embedded', reason: 't' }, source: { id: 's', url: 'u', ref: 'main', commit: null, fetchedAt: null }, lastAttempt: { startedAt: 'x', finishedAt: 'y', result: 'ok', error: null }, lastSuccess: null, counts: {}, jobs: [], problems: [], checkins: { spooled: 0, dropped: 0 } } as unknown as StatusFile;

describe.each(Object.keys(subjects))('state/store contract: %s', (kind) => {
  const make = subjects[kind]!;

  it('writes a batch of snapshots, reads and lists them, deletes one; private files', async () => {
    const { store, mode } = make();
    await store.prepare();

    await store.writeSnapshots([snap('b'), snap('a')]);
    await store.settleSnapshots();
    const deleted = await store.deleteSnapshot('acme/b');

    expect(await store.listSnapshots()).toEqual(['acme/a']);
    expect((await store.readSnapshot('acme/a'))?.job.metadata.name).toBe('a');
    expect(await store.readSnapshot('acme/b')).toBeNull();
    expect(deleted).toBe(true);
    expect(await store.deleteSnapshot('acme/b')).toBe(false);
    expect([store.hasSnapshotFile('acme/a'), store.hasSnapshotFile('acme/b')]).toEqual([true, false]);
    expect(() => store.hasSnapshotFile('../etc/passwd')).toThrow(expect.objectContaining({ code: 'CRONSYNC_USAGE' }));
    expect(mode('jobs/acme/a.json')).toBe(0o600);
    await expect(store.readSnapshot('../etc/passwd')).rejects.toMatchObject({ code: 'CRONSYNC_USAGE' });
  });

  it('reads the batch in place of a missing, cut or foreign snapshot file until the batch is settled', async () => {
    const { store, put } = make();
    await store.writeSnapshots([snap('a', '/bin/new'), snap('b', '/bin/new'), snap('c', '/bin/new')]);
    const whole = JSON.stringify(snap('a', '/bin/new'), null, 2);
    put('jobs/acme/a.json', whole.slice(0, whole.length / 2));
    put('jobs/acme/b.json', '');
    put('jobs/acme/c.json', `${JSON.stringify(snap('other'), null, 2)}\n`);

    const fromBatch = await Promise.all(['acme/a', 'acme/b', 'acme/c'].map((id) => store.readSnapshot(id)));
    await store.settleSnapshots();

    expect(fromBatch.map((s) => s?.job.spec.command)).toEqual(['/bin/new', '/bin/new', '/bin/new']);
    await expect(store.readSnapshot('acme/a')).rejects.toMatchObject({ code: 'CRONSYNC_CONFIG', message: expect.stringContaining('not valid JSON') });
    await expect(store.readSnapshot('acme/c')).rejects.toMatchObject({ message: expect.stringContaining('is not the snapshot of acme/c') });
  });

  it('recovers a batch left by a killed sync: rewrites the files that differ, once', async () => {
    const { store, put, get } = make();
    await store.writeSnapshots([snap('a', '/bin/new'), snap('b', '/bin/new')]);
    put('jobs/acme/a.json', `${JSON.stringify(snap('a', '/bin/old'), null, 2)}\n`);
    put('jobs/acme/b.json', '{"sche');

    const first = await store.recoverSnapshots();
    const second = await store.recoverSnapshots();

    expect([first, second]).toEqual([2, 0]);
    expect(JSON.parse(get('jobs/acme/a.json')!).job.spec.command).toBe('/bin/new');
    expect(JSON.parse(get('jobs/acme/b.json')!).job.spec.command).toBe('/bin/new');
    expect(await store.listSnapshots()).toEqual(['acme/a', 'acme/b']);
  });

  it('counts a job whose file is lost as having a snapshot while the batch holds a copy, and no more once deleted', async () => {
    const { store, lose } = make();
    await store.writeSnapshots([snap('a'), snap('b'), snap('c')]);
    lose('jobs/acme/a.json');
    lose('jobs/acme/b.json');

    const lost = ['acme/a', 'acme/b', 'acme/c', 'acme/d'].map((id) => store.hasSnapshotFile(id));
    const deleted = await Promise.all(['acme/b', 'acme/c', 'acme/b'].map((id) => store.deleteSnapshot(id)));

    expect(lost).toEqual([true, true, true, false]);
    expect(deleted).toEqual([true, true, false]);
    expect(['acme/a', 'acme/b', 'acme/c'].map((id) => store.hasSnapshotFile(id))).toEqual([true, false, false]);
    expect((await store.readSnapshot('acme/a'))?.job.metadata.name).toBe('a');
    expect(await store.readSnapshot('acme/b')).toBeNull();
    expect(await store.readSnapshot('acme/c')).toBeNull();
  });

  it('replays no deleted snapshot from the batch; a new batch or settling forgets the deletions', async () => {
    const { store, get, lose } = make();
    await store.writeSnapshots([snap('a'), snap('b')]);
    lose('jobs/acme/a.json');
    await store.deleteSnapshot('acme/b');

    const replayed = await store.recoverSnapshots();
    const listed = await store.listSnapshots();
    await store.writeSnapshots([snap('b', '/bin/new')]);
    lose('jobs/acme/b.json');
    const again = [store.hasSnapshotFile('acme/b'), (await store.readSnapshot('acme/b'))?.job.spec.command];
    await store.deleteSnapshot('acme/b');
    await store.settleSnapshots();

    expect(replayed).toBe(1);
    expect(listed).toEqual(['acme/a']);
    expect(again).toEqual([true, '/bin/new']);
    expect([get('jobs.batch.json'), get('jobs.batch.deleted')]).toEqual([null, null]);
    expect([store.hasSnapshotFile('acme/a'), store.hasSnapshotFile('acme/b')]).toEqual([true, false]);
  });

  it('keeps a deletion list with the batch it names: the list of an older batch hides nothing of a newer one', async () => {
    const { store, put, get, lose } = make();
    await store.writeSnapshots([snap('a'), snap('b')]);
    await store.deleteSnapshot('acme/b');
    const olderList = get('jobs.batch.deleted');
    await store.writeSnapshots([snap('b', '/bin/new')]);
    lose('jobs/acme/b.json');

    const kept = get('jobs.batch.deleted');
    put('jobs.batch.deleted', olderList!);
    const present = [store.hasSnapshotFile('acme/b'), (await store.readSnapshot('acme/b'))?.job.spec.command, await store.recoverSnapshots()];
    await store.deleteSnapshot('acme/b');

    expect(olderList).toMatch(/^# batch [0-9a-f]{16}\n\n"acme\/b"\n$/);
    expect(kept).toBe(olderList); // no removal between the two batches: nothing to race with
    expect(present).toEqual([true, '/bin/new', 1]);
    expect(get('jobs.batch.deleted')).toMatch(/^# batch [0-9a-f]{16}\n\n"acme\/b"\n$/);
    expect(get('jobs.batch.deleted')).not.toBe(olderList);
    expect(store.hasSnapshotFile('acme/b')).toBe(false);
  });

  it('takes no id from an entry a write cut short, and ends it before the next entry', async () => {
    const { store, put, get, lose } = make();
    await store.writeSnapshots([snap('foo'), snap('foo-bar'), snap('c')]);
    for (const n of ['foo', 'foo-bar', 'c']) lose(`jobs/acme/${n}.json`);
    await store.deleteSnapshot('acme/foo-bar');
    // A power loss cut the entry short: `"acme/foo` is a prefix of it, and of no use.
    put('jobs.batch.deleted', get('jobs.batch.deleted')!.replace('"acme/foo-bar"\n', '"acme/foo'));

    const cut = ['acme/foo', 'acme/foo-bar'].map((id) => store.hasSnapshotFile(id));
    await store.deleteSnapshot('acme/c');

    expect(cut).toEqual([true, true]);
    expect(['acme/foo', 'acme/foo-bar', 'acme/c'].map((id) => store.hasSnapshotFile(id))).toEqual([true, true, false]);
  });

  it('drops a damaged batch on recovery', async () => {
    const { store, put, get } = make();
    put('jobs.batch.json', '{"version": 1, "snap');

    expect(await store.recoverSnapshots()).toBe(0);
    expect(get('jobs.batch.json')).toBeNull();
  });

  it('lists the jobs that have a last run (not their markers, not other files)', async () => {
    const { store, put } = make();
    await store.writeLastRun('acme/a', run());
    await store.writeLastRun('beta/b', run('failure'));
    store.claimFire('acme/c', new Date('2026-11-23T10:05:00Z'));
    put('runs/acme/.d.json.0123456789ab.tmp', '{');
    await store.writeSnapshots([]);

    const before = await store.listLastRuns!();
    await store.deleteLastRun('acme/a');

    expect([...before].sort()).toEqual(['acme/a', 'beta/b']);
    expect([...(await store.listLastRuns!())]).toEqual(['beta/b']);
  });

  it('records, reads and deletes last runs with their scheduled-minute markers; private records (0600)', async () => {
    const { store, put, mode } = make();
    const minute = new Date('2026-11-23T10:05:00Z');

    await store.writeLastRun('acme/a', run());
    const claims = [store.claimFire('acme/a', minute).claimed, store.claimFire('acme/a', new Date('2026-11-23T10:05:30Z')).claimed, store.claimFire('acme/a', new Date('2026-11-23T10:06:00Z')).claimed];
    const read = await store.readLastRun('acme/a');
    const mod = mode('runs/acme/a.json');
    const deleted = await store.deleteLastRun('acme/a');
    put('runs/acme/b.json', 'garbage');

    expect(claims).toEqual([true, false, true]);
    expect(read).toEqual(run());
    expect(mod).toBe(0o600);
    expect(deleted).toBe(true);
    expect(await store.readLastRun('acme/a')).toBeNull();
    expect(store.claimFire('acme/a', minute).claimed).toBe(true);
    expect(await store.readLastRun('acme/b')).toBeNull();
  });

  it('a claim made more than a day earlier by the monotonic clock no longer holds its minute (a clock set ahead made it)', () => {
    const { store } = make();
    const minute = new Date('2026-11-23T10:05:00Z');
    const day = 86_400_000;

    const claims = [10, 10 + day, 11 + day, 12 + day].map((mono) => store.claimFire('acme/a', minute, () => mono).claimed);

    expect(claims).toEqual([true, false, true, false]);
  });

  it('keeps three days of markers: a claim on a new day prunes the older ones', async () => {
    const { store } = make();
    store.claimFire('acme/a', new Date('2026-11-20T10:00:00Z'));
    store.claimFire('acme/a', new Date('2026-11-22T10:00:00Z'));

    store.claimFire('acme/a', new Date('2026-11-23T10:00:00Z'));

    expect(store.claimFire('acme/a', new Date('2026-11-22T10:00:00Z')).claimed).toBe(false);
    expect(store.claimFire('acme/a', new Date('2026-11-20T10:00:00Z')).claimed).toBe(true);
  });

  it('reads and writes the source-id record; a damaged one is reported', async () => {
    const { store, put, mode } = make();
    const none = await store.readSources();

    await store.writeSources({ current: 's2', previous: ['s1', 's2', 's1'] });
    const written = await store.readSources();
    const mod = mode('sources.json');
    put('sources.json', '{"current": 7}');

    expect(none).toEqual({ record: null, damaged: false });
    expect(written).toEqual({ record: { current: 's2', previous: ['s1'] }, damaged: false });
    expect(mod).toBe(0o644);
    expect(await store.readSources()).toEqual({ record: null, damaged: true });
  });

  it('reads and writes the status file; refuses a damaged one', async () => {
    const { store, put, mode } = make();
    const none = await store.readStatus();

    await store.writeStatus(status);
    const read = await store.readStatus();
    const mod = mode('status.json');
    put('status.json', '{"schemaVersion": 1}');

    expect(none).toBeNull();
    expect(read).toEqual(status);
    expect(mod).toBe(0o644);
    await expect(store.readStatus()).rejects.toMatchObject({ code: 'CRONSYNC_IO', message: expect.stringContaining('status.json is damaged: agent is missing; the next sync rewrites it') });
  });

  it('spools check-ins oldest first, removes them, counts drops; private entries', async () => {
    const { store, mode } = make();

    const late = store.writeSpool(spoolEntry('r2', '2026-11-23T11:00:00.000Z'), true);
    const early = store.writeSpool(spoolEntry('r1'), false);
    const listed = await store.listSpool();
    const text = await store.readSpool(early);
    const mod = mode(`spool/${early}`);
    const removed = [store.removeSpool(early), store.removeSpool(early)];
    await store.recordDropped([{ at: 'x', jobId: 'acme/a', runId: 'r0', reason: 'max-age' }, { at: 'x', jobId: 'acme/a', runId: 'r9', reason: 'max-count' }]);

    expect(listed).toEqual([early, late]);
    expect(JSON.parse(text!).payload.run_id).toBe('r1');
    expect(mod).toBe(0o600);
    expect(removed).toEqual([true, false]);
    expect(await store.readSpool(early)).toBeNull();
    expect(await store.spoolStats()).toEqual({ spooled: 1, dropped: 2 });
    expect(() => store.removeSpool('../status.json')).toThrow(/Invalid spool entry name/);
  });

  it('locks: one holder at a time, released or gone holders give way', async () => {
    const { store } = make();
    const lock = store.jobLock('acme/a');
    const me = { pid: process.pid, startTime: null, runId: 'r1', startedAt: 'x' };

    const first = await lock.tryAcquire(me);
    const second = await store.jobLock('acme/a').tryAcquire({ ...me, runId: 'r2' });
    const holder = await lock.holder();
    if (first.acquired) await first.lock.release();
    const afterRelease = await lock.holder();
    const third = await lock.tryAcquire({ ...me, runId: 'r3' });
    const stale = await lock.tryAcquire({ ...me, runId: 'r4' }, { isAlive: () => false });

    expect(first.acquired).toBe(true);
    expect(second).toMatchObject({ acquired: false, holder: { runId: 'r1' } });
    expect(holder?.runId).toBe('r1');
    expect(afterRelease).toBeNull();
    expect(third.acquired).toBe(true);
    expect(stale.acquired).toBe(true);
    expect((await store.flushLock().tryAcquire(me)).acquired).toBe(true);
    expect(() => store.jobLock('nope')).toThrow(/Invalid job id/);
  });
});

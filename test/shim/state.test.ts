import { chmodSync, mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteJobSnapshot, jobSnapshotPath, listJobSnapshots, parseJobId, readJobSnapshot, writeJobSnapshot } from '../../src/state/snapshots.js';
import { lastRunPath, readLastRun, writeLastRun } from '../../src/state/runs.js';
import { atomicWriteFile } from '../../src/system/files.js';
import { runExec } from '../../src/shim/run.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { FakeRunner } from '../fakes/FakeRunner.js';
import { makeJob, makeSnapshot, memoryLog, removeTempStateDirs, tempStateDir } from './fixtures.js';

afterEach(removeTempStateDirs);

describe('state/snapshots', () => {
  it('writes 0600 atomically, only when the bytes differ, and reads back', async () => {
    const dir = tempStateDir();
    const snap = makeSnapshot(makeJob('backup'));

    const first = await writeJobSnapshot(dir, snap);
    const second = await writeJobSnapshot(dir, snap);
    const third = await writeJobSnapshot(dir, { ...snap, manifestHash: 'sha256:1' });

    expect([first, second, third]).toEqual([true, false, true]);
    const path = jobSnapshotPath(dir, 'acme/backup');
    expect(path).toBe(join(dir, 'jobs', 'acme', 'backup.json'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'jobs', 'acme'))).toEqual(['backup.json']);
    expect(await readJobSnapshot(dir, 'acme/backup')).toEqual({ ...snap, manifestHash: 'sha256:1' });
  });

  it('lists, deletes, and returns null for a missing job', async () => {
    const dir = tempStateDir();
    await writeJobSnapshot(dir, makeSnapshot(makeJob('b')));
    await writeJobSnapshot(dir, makeSnapshot(makeJob('a')));
    writeFileSync(join(dir, 'jobs', 'acme', '.b.json.123.tmp'), '');

    expect(await listJobSnapshots(dir)).toEqual(['acme/a', 'acme/b']);
    expect(await deleteJobSnapshot(dir, 'acme/a')).toBe(true);
    expect(await deleteJobSnapshot(dir, 'acme/a')).toBe(false);
    expect(await readJobSnapshot(dir, 'acme/a')).toBeNull();
    expect(await listJobSnapshots(join(dir, 'nope'))).toEqual([]);
  });

  it('rejects malformed ids (no path traversal) and corrupt files', async () => {
    const dir = tempStateDir();
    mkdirSync(join(dir, 'jobs', 'acme'), { recursive: true });
    writeFileSync(join(dir, 'jobs', 'acme', 'bad.json'), '{"schemaVersion": 2}');

    for (const id of ['acme', '../etc/passwd', 'acme/../x', 'Acme/x', 'a/b/c']) {
      expect(() => parseJobId(id)).toThrow(expect.objectContaining({ code: 'CRONSYNC_USAGE' }));
    }
    await expect(readJobSnapshot(dir, 'acme/bad')).rejects.toMatchObject({ code: 'CRONSYNC_CONFIG' });
  });
});

describe('state/runs', () => {
  it('round-trips the last run, private to the agent (0600) as README\'s isolation promises', async () => {
    const dir = tempStateDir();
    const run = { runId: 'r1', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', status: 'success' as const, exitCode: 0, durationMs: 1000, attempts: 1 };

    await writeLastRun(dir, 'acme/job', run);

    expect(await readLastRun(dir, 'acme/job')).toEqual(run);
    expect(lastRunPath(dir, 'acme/job')).toBe(join(dir, 'runs', 'acme', 'job.json'));
    expect(await readLastRun(dir, 'acme/other')).toBeNull();
    if (process.platform !== 'win32') expect(statSync(lastRunPath(dir, 'acme/job')).mode & 0o777).toBe(0o600);
  });
});

describe('system/files', () => {
  it('atomicWriteFile sets the exact mode and replaces content', async () => {
    const dir = tempStateDir();
    const p = join(dir, 'sub', 'status.json');

    await atomicWriteFile(p, 'one', 0o644);
    await atomicWriteFile(p, 'two', 0o600, { fsync: false });

    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['status.json']);
  });

  it('atomicWriteFile fails with IoError and leaves no temp file', async () => {
    const dir = tempStateDir();
    mkdirSync(join(dir, 'ro'));
    chmodSync(join(dir, 'ro'), 0o500);
    const asRoot = process.getuid?.() === 0;

    const p = atomicWriteFile(join(dir, 'ro', 'x'), 'data', 0o600);

    if (asRoot) await expect(p).resolves.toBeUndefined();
    else await expect(p).rejects.toMatchObject({ code: 'CRONSYNC_IO' });
    expect(readdirSync(join(dir, 'ro')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('shim/run on a StateStore', () => {
  it('runs a job from the in-memory store: snapshot, once-per-minute claim, last run, lock released', async () => {
    const state = new MemoryStateStore();
    await state.writeSnapshots([makeSnapshot(makeJob('job', { checkin: { enabled: false, timeout: 60 } }))]);
    const runner = new FakeRunner(() => ({}));
    const exec = () => runExec({
      jobId: 'acme/job', stateDir: state.dir, state, scheduled: true, scheduledFor: new Date('2026-11-23T02:00:00Z'), clock: new FakeClock(), http: new FakeHttp(), log: memoryLog(),
      env: {}, stdout: { write: () => true }, stderr: { write: () => true }, runner,
    });

    const codes = [await exec(), await exec()];

    expect(codes).toEqual([0, 0]);
    expect(runner.calls).toHaveLength(1);
    expect((await state.readLastRun('acme/job'))?.status).toBe('success');
    expect(await state.jobLock('acme/job').holder()).toBeNull();
  });

  it.each([
    ['EMFILE', 'runs nothing: a live run\'s lock may have gone unseen', 0],
    ['ENOSPC', 'runs the job unguarded: no lock could have been written there either', 1],
  ])('a run lock that cannot be taken for %s %s', async (code, _what, runs) => {
    const state = new MemoryStateStore();
    await state.writeSnapshots([makeSnapshot(makeJob('job', { checkin: { enabled: false, timeout: 60 } }))]);
    const jobLock = state.jobLock.bind(state);
    state.jobLock = (id) => ({ ...jobLock(id), tryAcquire: async () => { throw Object.assign(new Error(`${code}: cannot open the lock`), { code }); } });
    const runner = new FakeRunner(() => ({}));

    const run = runExec({
      jobId: 'acme/job', stateDir: state.dir, state, clock: new FakeClock(), http: new FakeHttp(), log: memoryLog(),
      env: {}, stdout: { write: () => true }, stderr: { write: () => true }, runner,
    });

    if (runs === 0) await expect(run).rejects.toThrow(`${code}: cannot open the lock`);
    else expect(await run).toBe(0);
    expect(runner.calls).toHaveLength(runs);
  });

  it.each([
    ['in memory', () => new MemoryStateStore()],
    ['on disk', () => createFsStateStore(tempStateDir())],
  ])('keeps no last-run record of a job a sync removed while it ran (%s)', async (_where, make) => {
    const state = make();
    await state.writeSnapshots([makeSnapshot(makeJob('job', { checkin: { enabled: false, timeout: 60 } })), makeSnapshot(makeJob('kept', { checkin: { enabled: false, timeout: 60 } }))]);
    // What a sync's removal does, in its order (src/reconcile/steps.ts): the snapshot, then the record.
    const runner = new FakeRunner(async () => {
      await state.deleteSnapshot('acme/job');
      await state.deleteLastRun('acme/job');
      return {};
    });
    const exec = (jobId: string) => runExec({
      jobId, stateDir: state.dir, state, clock: new FakeClock(), http: new FakeHttp(), log: memoryLog(),
      env: {}, stdout: { write: () => true }, stderr: { write: () => true }, runner,
    });

    expect(await exec('acme/job')).toBe(0);
    expect(await state.readLastRun('acme/job')).toBeNull();
    expect(await state.listLastRuns()).toEqual(new Set());
    // A job still installed keeps its record, even when another one goes meanwhile.
    expect(await exec('acme/kept')).toBe(0);
    expect((await state.readLastRun('acme/kept'))?.status).toBe('success');
  });

  it.each([
    ['in memory', () => {
      const state = new MemoryStateStore();
      return { state, lose: () => void state.files.delete('jobs/acme/job.json') };
    }],
    ['on disk', () => {
      const state = createFsStateStore(tempStateDir());
      return { state, lose: () => unlinkSync(jobSnapshotPath(state.dir, 'acme/job')) };
    }],
  ])('keeps the last-run record of a job run from the batch, its file lost to a power loss (%s)', async (_where, make) => {
    const { state, lose } = make();
    await state.writeSnapshots([makeSnapshot(makeJob('job', { checkin: { enabled: false, timeout: 60 } }))]);
    lose();
    const runner = new FakeRunner(() => ({}));

    const code = await runExec({
      jobId: 'acme/job', stateDir: state.dir, state, clock: new FakeClock(), http: new FakeHttp(), log: memoryLog(),
      env: {}, stdout: { write: () => true }, stderr: { write: () => true }, runner,
    });

    expect(code).toBe(0);
    expect(runner.calls).toHaveLength(1);
    expect((await state.readLastRun('acme/job'))?.status).toBe('success');
  });

  it('says so when the state dir is not a directory (exit 78), instead of a raw ENOTDIR', async () => {
    const dir = join(tempStateDir(), 'a-file');
    writeFileSync(dir, 'not a directory\n');
    let err = '';

    const code = await runExec({
      jobId: 'acme/job', stateDir: dir, clock: new FakeClock(), http: new FakeHttp(), log: memoryLog(),
      env: {}, stdout: { write: () => true }, stderr: { write: (c) => void (err += String(c)) }, runner: new FakeRunner(() => ({})),
    });

    expect(code).toBe(78);
    expect(err).toBe(`cronsync exec: state dir ${dir} (or a directory in it) is not a directory\n`);
  });

  it('names a job that is not installed with the state dir escaped: no raw control character reaches the terminal', async () => {
    const dir = `${tempStateDir()}/\u001b]0;pwned\u0007\u001b[31m`;
    let err = '';

    const code = await runExec({
      jobId: 'acme/ghost', stateDir: dir, clock: new FakeClock(), http: new FakeHttp(), log: memoryLog(),
      env: {}, stdout: { write: () => true }, stderr: { write: (c) => void (err += String(c)) }, runner: new FakeRunner(() => ({})),
    });

    expect(code).toBe(78);
    expect(err).toContain('is not installed (no snapshot in ');
    expect(err).toContain('\\x1b]0;pwned\\x07\\x1b[31m/jobs');
    expect([...err].filter((c) => c !== '\n' && (c < ' ' || c === '\u007f'))).toEqual([]);
  });
});

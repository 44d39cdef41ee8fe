/** The file-system StateStore: what only a real state dir shows (layout, temp files, modes, errors). */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { createPosixPlatform } from '../../src/system/platform.js';
import type { Platform } from '../../src/system/platform.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { agentConfig } from '../reconcile/fixtures.js';
import { makeJob, makeSnapshot } from '../shim/fixtures.js';
import { nullLogger } from '../../src/log.js';
import { testTempDir } from '../system/tempdir.js';

const snap = (name: string) => makeSnapshot(makeJob(name, { command: '/bin/true' }));

describe('state/fs-store', () => {
  it('keeps the deletions another process listed for the same batch (prune beside a daemon): its first own deletion appends', async () => {
    const dir = testTempDir('cronsync-fs-store-');
    const daemon = createFsStateStore(dir);
    const prune = createFsStateStore(dir);
    await daemon.writeSnapshots([snap('a'), snap('b'), snap('c')]);
    await prune.deleteSnapshot('acme/a');
    await prune.deleteSnapshot('acme/b');

    await daemon.deleteSnapshot('acme/c');

    const list = readFileSync(join(dir, 'jobs.batch.deleted'), 'utf8');
    expect(list.split('\n').filter((l) => l.startsWith('"'))).toEqual(['"acme/a"', '"acme/b"', '"acme/c"']);
  });

  it('writes snapshot files that older `exec` versions read, and the batch beside jobs/', async () => {
    const dir = join(testTempDir('cronsync-store-'), 'state');
    const store = createFsStateStore(dir);

    await store.writeSnapshots([snap('a')]);

    expect(JSON.parse(readFileSync(join(dir, 'jobs/acme/a.json'), 'utf8'))).toEqual(snap('a'));
    expect(JSON.parse(readFileSync(join(dir, 'jobs.batch.json'), 'utf8')).snapshots['acme/a']).toBe(readFileSync(join(dir, 'jobs/acme/a.json'), 'utf8'));
    expect(statSync(join(dir, 'jobs.batch.json')).mode & 0o777).toBe(0o600);
  });

  it('writes a new job\'s file private (0600), replaces an existing one by rename (a new inode), and reads and recovers a new file cut short from the batch', async () => {
    const dir = join(testTempDir('cronsync-store-'), 'state');
    const store = createFsStateStore(dir);
    const changed = makeSnapshot(makeJob('a', { command: '/bin/false' }));
    await store.writeSnapshots([snap('a')]);
    const created = statSync(join(dir, 'jobs/acme/a.json'));

    await store.writeSnapshots([changed, snap('b')]);
    const replaced = statSync(join(dir, 'jobs/acme/a.json'));
    // A sync killed while writing b's new file: the batch holds its copy.
    writeFileSync(join(dir, 'jobs/acme/b.json'), '{"schemaVer');
    const cut = await store.readSnapshot('acme/b');
    const rewritten = await store.recoverSnapshots();

    expect(created.mode & 0o777).toBe(0o600);
    expect(replaced.ino).not.toBe(created.ino);
    expect(replaced.mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, 'jobs/acme/a.json'), 'utf8'))).toEqual(changed);
    expect(cut).toEqual(snap('b'));
    expect(rewritten).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, 'jobs/acme/b.json'), 'utf8'))).toEqual(snap('b'));
    expect(readdirSync(join(dir, 'jobs/acme')).sort()).toEqual(['a.json', 'b.json']);
  });

  it('lists the jobs that have a last run in one go, and reads only those (with 2,500 snapshot files)', async () => {
    const dir = join(testTempDir('cronsync-store-'), 'state');
    const store = createFsStateStore(dir);
    const run = { runId: 'r1', startedAt: '2026-11-23T10:00:00.000Z', finishedAt: '2026-11-23T10:00:01.000Z', status: 'success' as const, exitCode: 0, durationMs: 1000, attempts: 1 };
    await store.writeSnapshots(Array.from({ length: 2500 }, (_, i) => snap(`j${i}`)));
    await store.writeLastRun('acme/j7', run);
    await store.claimFire('acme/j7', new Date(Date.UTC(2026, 10, 23, 10)));
    writeFileSync(join(dir, 'runs/acme/.j8.json.0123456789ab.tmp'), '{');

    const listed = await store.listLastRuns!();

    expect([...listed]).toEqual(['acme/j7']);
    expect(await store.readLastRun('acme/j7')).toEqual(run);
    expect(await store.readLastRun('acme/j8')).toBeNull();
    expect(await store.listSnapshots()).toHaveLength(2500);
    expect((await store.readSnapshot('acme/j2499'))?.job.metadata.name).toBe('j2499');
  });

  it.skipIf(process.platform === 'win32')('reads a FIFO, a directory, an oversized or a mistyped last-run record as no record, without blocking on the FIFO', async () => {
    const dir = join(testTempDir('cronsync-store-'), 'state');
    const store = createFsStateStore(dir);
    const run = { runId: 'r1', startedAt: '2026-11-23T10:00:00.000Z', finishedAt: '2026-11-23T10:00:01.000Z', status: 'success' as const, exitCode: 0, durationMs: 1000, attempts: 1 };
    await store.writeLastRun('acme/ok', run);
    const fifo = join(dir, 'runs/acme/fifo.json');
    execFileSync('mkfifo', [fifo]);
    // A writer that would hand a reader blocked on the FIFO a valid record: the read must not wait for it.
    const writer = spawn('sh', ['-c', 'printf %s "$REC" > "$FIFO"'], { env: { REC: JSON.stringify(run), FIFO: fifo }, stdio: 'ignore' });
    onTestFinished(() => void writer.kill('SIGKILL'));
    mkdirSync(join(dir, 'runs/acme/dir.json'));
    writeFileSync(join(dir, 'runs/acme/big.json'), JSON.stringify({ ...run, pad: 'x'.repeat(100_000) }));
    writeFileSync(join(dir, 'runs/acme/typed.json'), JSON.stringify({ ...run, exitCode: 'x', durationMs: undefined }));
    writeFileSync(join(dir, 'runs/acme/status.json'), JSON.stringify({ ...run, status: 'exploded' }));

    const names = ['ok', 'fifo', 'dir', 'big', 'typed', 'status'];
    const got = await Promise.all(names.map((n) => store.readLastRun(`acme/${n}`).catch((err: Error) => err)));

    expect(got[0]).toEqual(run);
    expect(Object.fromEntries(names.map((n, i) => [n, got[i] instanceof Error ? 'error' : got[i] === null ? null : 'record']))).toEqual({ ok: 'record', fifo: null, dir: null, big: null, typed: null, status: null });
  });

  it('removes temp files of killed writers on recovery', async () => {
    const dir = join(testTempDir('cronsync-store-'), 'state');
    const store = createFsStateStore(dir);
    mkdirSync(join(dir, 'jobs/acme'), { recursive: true });
    writeFileSync(join(dir, 'jobs/acme/.a.json.0123456789ab.tmp'), '{');
    writeFileSync(join(dir, '.jobs.batch.json.0123456789ab.tmp'), '{');
    writeFileSync(join(dir, '.status.json.0123456789ab.tmp'), '{');

    await store.recoverSnapshots();

    expect(statSync(join(dir, 'jobs/acme')).isDirectory()).toBe(true);
    expect(() => statSync(join(dir, 'jobs/acme/.a.json.0123456789ab.tmp'))).toThrow();
    expect(() => statSync(join(dir, '.jobs.batch.json.0123456789ab.tmp'))).toThrow();
    // Not a snapshot writer's: left to its owner.
    expect(statSync(join(dir, '.status.json.0123456789ab.tmp')).isFile()).toBe(true);
  });

  it.skipIf(process.getuid?.() === 0)('fails with IoError when the state dir is read-only', async () => {
    const root = testTempDir('cronsync-store-');
    const store = createFsStateStore(root);
    chmodSync(root, 0o500);

    await expect(store.writeSnapshots([snap('a')])).rejects.toMatchObject({ code: 'CRONSYNC_IO' });
    chmodSync(root, 0o700);
  });

  it('a sync on the file-system store reports the last run of the jobs that have one', async () => {
    const m = (name: string): string => `apiVersion: v1\nkind: Job\nmetadata: { name: ${name}, tenant: acme }\nspec: { schedule: "0 2 * * *", command: /bin/true }\n`;
    const source = new MemorySource({ 'a.yaml': m('a'), 'b.yaml': m('b') });
    const config = agentConfig(join(testTempDir('cronsync-store-'), 'state'), { scheduler: { kind: 'embedded', cronDir: '/x', unitDir: '/x', taskFolder: '\\x' } });
    const state = createFsStateStore(config.stateDir);
    const rec = createReconciler({ config, source, adapter: new MemoryScheduler('src1'), scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state });
    await rec.reconcile();
    await state.writeLastRun('acme/b', { runId: 'r1', startedAt: '2026-11-23T10:00:00.000Z', finishedAt: '2026-11-23T10:00:01.000Z', status: 'failure', exitCode: 3, durationMs: 1000, attempts: 2 });

    const res = await rec.reconcile();

    expect(res.status.jobs.map((j) => [j.id, j.lastRun])).toEqual([['acme/a', null], ['acme/b', { startedAt: '2026-11-23T10:00:00.000Z', status: 'failure', exitCode: 3, durationMs: 1000, attempts: 2 }]]);
  });

  // Node 20's recursive mkdir spins for ever under /proc/1; a regression fails on the timeout.
  // (Moved from test/reconcile: only a real file system has a path that cannot be created.)
  it.skipIf(!existsSync('/proc/1'))('a reconciler fails fast with a clear error when the state dir cannot be created (/proc/1/nope)', { timeout: 10_000 }, async () => {
    const source = new MemorySource({ 'a.yaml': 'apiVersion: v1\nkind: Job\nmetadata: { name: a, tenant: acme }\nspec: { schedule: "0 2 * * *", command: /bin/true }\n' });
    const adapter = new MemoryScheduler('src1');
    const config = agentConfig('/proc/1/nope', { scheduler: { kind: 'embedded', cronDir: '/x', unitDir: '/x', taskFolder: '\\x' } });
    const rec = createReconciler({ config, source, adapter, scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state: createFsStateStore(config.stateDir) });

    const res = await rec.reconcile();
    const dry = await rec.reconcile({ dryRun: true });

    expect(res.result).toBe('error');
    expect(res.status.lastAttempt.reason).toBe('StateDirFailed');
    expect(res.status.lastAttempt.error).toMatch(/^Cannot create directory \/proc\/1\/nope: /);
    expect(dry.status.lastAttempt.reason).toBe('StateDirFailed');
    // Stopped before the fetch: a Git source would create its clone dir under the state dir.
    expect(source.fetches).toBe(0);
    expect(adapter.writes).toBe(0);
  });
  describe('a Windows state dir (platform fake)', () => {
    /** A win32 platform over this file system whose ACL answers are `acl()`; records the dirs it made private. */
    function windows(acl: () => string | null): Platform & { made: string[]; checks: number } {
      const posix = createPosixPlatform();
      const p = {
        ...posix,
        kind: 'win32' as const,
        made: [] as string[],
        checks: 0,
        makePrivateDir(d: string) {
          p.made.push(d);
          posix.makePrivateDir(d);
        },
        privateDirProblem() {
          p.checks++;
          return acl();
        },
      };
      return p;
    }

    it('creates it through the platform (SYSTEM and Administrators ACL) and checks its ACL once per store', async () => {
      const dir = join(testTempDir('cronsync-store-'), 'state');
      const platform = windows(() => null);
      const store = createFsStateStore(dir, { platform });
      await store.prepare();
      await store.prepare();
      expect(platform.made).toEqual([dir, dir]);
      expect(existsSync(dir)).toBe(true);
      expect(platform.checks).toBe(1);
    });

    it('refuses a state dir that Users can read, naming the path and the principal', async () => {
      const dir = join(testTempDir('cronsync-store-'), 'state');
      const platform = windows(() => `${dir} can be read by BUILTIN\\Users (S-1-5-32-545); run icacls ...`);
      const store = createFsStateStore(dir, { platform });
      await expect(store.prepare()).rejects.toThrow(/State dir is not private: .*state can be read by BUILTIN\\Users \(S-1-5-32-545\)/);
      await expect(store.prepare()).rejects.toThrow(/not private/);
    });

    it('a reconcile on that dir fails with StateDirFailed and applies nothing', async () => {
      const dir = join(testTempDir('cronsync-store-'), 'state');
      const platform = windows(() => `${dir} can be read by Everyone (S-1-1-0)`);
      const source = new MemorySource({ 'a.yaml': 'apiVersion: v1\nkind: Job\nmetadata: { name: a, tenant: acme }\nspec: { schedule: "* * * * *", command: /bin/true }\n' });
      const adapter = new MemoryScheduler('src1');
      const config = agentConfig(dir, { scheduler: { kind: 'embedded', cronDir: '/x', unitDir: '/x', taskFolder: '\\x' } });
      const r = createReconciler({ config, source, adapter, scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state: createFsStateStore(dir, { platform }) });
      const out = await r.reconcile();
      expect(out.result).toBe('error');
      expect(out.status.lastAttempt.reason).toBe('StateDirFailed');
      expect(out.status.lastAttempt.error).toMatch(/Everyone \(S-1-1-0\)/);
      expect(source.fetches).toBe(0);
      expect(adapter.writes).toBe(0);
    });

    it('on POSIX, leaves an existing 0755 state dir alone (run-as users reach their snapshots through it)', async () => {
      const dir = join(testTempDir('cronsync-store-'), 'state');
      mkdirSync(dir, { mode: 0o755 });
      chmodSync(dir, 0o755);
      await createFsStateStore(dir).prepare();
      expect(statSync(dir).mode & 0o777).toBe(0o755);
    });
  });
});

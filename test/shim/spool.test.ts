import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { flushSpool, listSpool, spoolStats, writeSpoolEntry } from '../../src/shim/spool.js';
import type { SpoolEntry } from '../../src/shim/spool.js';
import { DEFAULT_SPOOL_LIMITS, SENDING_HERE } from '../../src/shim/spool-entry.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import type { StateStore } from '../../src/state/store.js';
import { ioError } from '../../src/errors.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { HttpTransportError } from '../../src/system/http.js';
import type { HttpClient } from '../../src/system/http.js';
import { install, makeJob, memoryLog, tempStateDir } from './fixtures.js';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

function entry(runId: string, createdMs: number, extra: Partial<SpoolEntry> = {}): SpoolEntry {
  return {
    version: 1, protocol: 'crontopus', url: 'http://127.0.0.1:9/api/checkins', jobId: 'acme/job', createdAt: new Date(createdMs).toISOString(),
    secretRef: '${CHECKIN_SECRET}', owner: null,
    payload: { job_name: 'job', tenant: 'acme', status: 'success', started_at: 'x', agent_id: 'h', run_id: runId, attempts: 1, commit: null },
    ...extra,
  };
}

describe('shim/spool', () => {
  const env = { CHECKIN_SECRET: 'tok' };

  it('delivers oldest first, re-resolves the secret, deletes after 2xx', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('r2', T0 - 2000));
    await writeSpoolEntry(dir, entry('r1', T0 - 5000));
    const http = new FakeHttp();

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000 });

    expect(r).toEqual({ delivered: 2, rejected: 0, dropped: 0, remaining: 0, busy: false });
    expect(http.bodies().map((b) => b.run_id)).toEqual(['r1', 'r2']);
    expect(http.requests[0]?.headers?.authorization).toBe('Bearer tok');
    expect(await listSpool(dir)).toEqual([]);
  });

  it('flushes through a StateStore: the in-memory one, with drops counted in its record', async () => {
    const state = new MemoryStateStore();
    state.writeSpool(entry('r1', T0 - 5000), true);
    state.writeSpool(entry('old', T0 - 30 * 86_400_000), true);
    const http = new FakeHttp();

    const r = await flushSpool({ stateDir: state.dir, state, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000 });

    expect(r).toEqual({ delivered: 1, rejected: 0, dropped: 1, remaining: 0, busy: false });
    expect(http.bodies().map((b) => b.run_id)).toEqual(['r1']);
    expect(await state.spoolStats()).toEqual({ spooled: 0, dropped: 1 });
  });

  it('gives the event loop a turn while it reads thousands of entries (a daemon still answers /healthz)', async () => {
    const state = new MemoryStateStore();
    for (let i = 0; i < 1000; i++) state.writeSpool(entry(`r${i}`, T0 - 5000 + i), true);
    let reads = 0;
    const readSpool = state.readSpool.bind(state);
    state.readSpool = async (name) => {
      reads++;
      return readSpool(name);
    };
    let readsAtFirstTurn: number | undefined;
    setImmediate(() => (readsAtFirstTurn = reads));

    const r = await flushSpool({ stateDir: state.dir, state, http: new FakeHttp(), clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000 });

    expect(r.delivered).toBe(1000);
    // Each once to list it, and once again just before it is sent (its output is not kept meanwhile).
    expect(reads).toBe(2000);
    expect(readsAtFirstTurn).toBeGreaterThan(0);
    expect(readsAtFirstTurn).toBeLessThanOrEqual(256);
  });

  it('holds the listed entries\' metadata, not their outputs, while it delivers: a large spool does not take its size in memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const dir = tempStateDir();
    const output = 'o'.repeat(10_000);
    for (let i = 0; i < 2000; i++) await writeSpoolEntry(dir, entry(`r${i}`, T0 - 100_000 + i, { payload: { ...entry('x', 0).payload, run_id: `r${i}`, output } }), false);
    let heldAtFirstSend: number | undefined;
    const http: HttpClient = {
      async request() {
        gc();
        heldAtFirstSend ??= process.memoryUsage().heapUsed;
        return { statusCode: 503, headers: {}, body: '' };
      },
    };
    const once = { baseMs: 86_400_000, maxMs: 86_400_000, factor: 1, jitter: 0 };
    gc();
    const before = process.memoryUsage().heapUsed;

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000, policy: once });

    expect(r).toEqual({ delivered: 0, rejected: 0, dropped: 0, remaining: 2000, busy: false });
    // 2,000 outputs of 10,000 characters are 20 MB; what a flush keeps of 2,000 entries is well under 4.
    expect((heldAtFirstSend ?? Infinity) - before).toBeLessThan(4_000_000);
  });

  it('stores entries 0600 without the secret', async () => {
    const dir = tempStateDir();
    const p = await writeSpoolEntry(dir, entry('r1', T0));

    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(readdirSync(join(dir, 'spool')))).not.toContain('tok');
  });

  it('stops at the first undeliverable entry and keeps it and the rest', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('r1', T0 - 3000));
    await writeSpoolEntry(dir, entry('r2', T0 - 2000));
    await writeSpoolEntry(dir, entry('r3', T0 - 1000));
    const http = new FakeHttp([200], 503);

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 4000, random: () => 0.5 });

    expect(r).toMatchObject({ delivered: 1, remaining: 2 });
    expect((await listSpool(dir)).map((f) => f.split('-').slice(1).join('-'))).toEqual(['r2.json', 'r3.json']);
  });

  it('drops entries over the age and count limits, and 4xx-rejected ones, and counts them', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('old', T0 - 8 * 86_400_000));
    for (let i = 1; i <= 4; i++) await writeSpoolEntry(dir, entry(`n${i}`, T0 - 10_000 + i));
    const http = new FakeHttp([422, 200]);

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000, limits: { maxAgeDays: 7, maxCount: 2 } });

    expect(r).toEqual({ delivered: 1, rejected: 1, dropped: 3, remaining: 0, busy: false });
    expect(http.bodies().map((b) => b.run_id)).toEqual(['n3', 'n4']);
    expect(await spoolStats(dir)).toEqual({ spooled: 0, dropped: 4 });
  });

  it('skips entries still owned by a live process, and falls back to the job snapshot for a literal secret', async () => {
    const dir = tempStateDir();
    await install(dir, makeJob('job', { checkin: { enabled: true, secret: 'lit-${CHECKIN_SECRET}', timeout: 10 } }));
    // Another live process (this one's parent) is still delivering it.
    await writeSpoolEntry(dir, entry('mine', T0, { owner: { pid: process.ppid, startTime: null } }));
    await writeSpoolEntry(dir, entry('lit', T0 + 1, { secretRef: null }));
    const http = new FakeHttp();

    await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000 });

    expect(http.bodies().map((b) => b.run_id)).toEqual(['lit']);
    expect(http.requests[0]?.headers?.authorization).toBe('Bearer lit-tok');
    expect(await spoolStats(dir)).toEqual({ spooled: 1, dropped: 0 });
  });

  it('an entry this very process owns is skipped only while it is sending it (a daemon run whose durable rewrite failed)', async () => {
    const dir = tempStateDir();
    const sending = await writeSpoolEntry(dir, entry('sending', T0 - 2000, { owner: { pid: process.pid, startTime: null } }));
    await writeSpoolEntry(dir, entry('stranded', T0 - 1000, { owner: { pid: process.pid, startTime: null } }));
    const name = sending.slice(sending.lastIndexOf('/') + 1);
    SENDING_HERE.add(name);
    const http = new FakeHttp();
    try {
      await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000 });
    } finally {
      SENDING_HERE.delete(name);
    }

    expect(http.bodies().map((b) => b.run_id)).toEqual(['stranded']);
    expect((await listSpool(dir)).map((f) => f.slice(15))).toEqual(['sending.json']);
  });

  it('keeps an entry whose secret cannot be resolved', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('r1', T0));
    const log = memoryLog();

    const r = await flushSpool({ stateDir: dir, http: new FakeHttp(), clock: new FakeClock(T0), log, env: {}, budgetMs: 5000 });

    expect(r.delivered).toBe(0);
    expect(await listSpool(dir)).toHaveLength(1);
    expect(log.lines.map((l) => l.msg)).toContain('Spooled check-in kept: secret not resolvable');
  });

  it('drops a damaged entry by the age limit (its file-name time) and counts it; a young one is kept', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('ok', T0 - 1000));
    const spool = join(dir, 'spool');
    const oldName = `${String(T0 - 8 * 86_400_000).padStart(14, '0')}-damaged-old.json`;
    const youngName = `${String(T0 - 2000).padStart(14, '0')}-damaged-young.json`;
    writeFileSync(join(spool, oldName), '{"version":1,"payl');
    writeFileSync(join(spool, youngName), '');
    const http = new FakeHttp();

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000, limits: { maxAgeDays: 7, maxCount: 100 } });

    expect(r).toEqual({ delivered: 1, rejected: 0, dropped: 1, remaining: 0, busy: false });
    expect(await listSpool(dir)).toEqual([youngName]);
    expect(await spoolStats(dir)).toEqual({ spooled: 1, dropped: 1 });
  });

  it('a URL that fails keeps only its own entries: entries for another URL, and after an unsendable one, are still delivered', async () => {
    const dir = tempStateDir();
    const dead = 'http://127.0.0.1:9/old-api';
    await writeSpoolEntry(dir, entry('old1', T0 - 5000, { url: dead }));
    await writeSpoolEntry(dir, entry('bad', T0 - 4500));
    await writeSpoolEntry(dir, entry('old2', T0 - 4000, { url: dead }));
    await writeSpoolEntry(dir, entry('new1', T0 - 3000));
    await writeSpoolEntry(dir, entry('new2', T0 - 2000));
    const http = new FakeHttp([{ errno: 'ECONNREFUSED' }, { errno: 'ERR_INVALID_CHAR' }]);
    const once = { baseMs: 86_400_000, maxMs: 86_400_000, factor: 1, jitter: 0 };

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 10_000, policy: once });

    expect(r).toEqual({ delivered: 2, rejected: 0, dropped: 0, remaining: 3, busy: false });
    expect(http.bodies().map((b) => b.run_id)).toEqual(['old1', 'bad', 'new1', 'new2']);
    expect((await listSpool(dir)).map((f) => f.slice(15))).toEqual(['old1.json', 'bad.json', 'old2.json']);
  });

  it('a URL that hangs until its request times out takes only its share of the budget: the other URL\'s entries are still delivered', async () => {
    const dir = tempStateDir();
    const hanging = 'http://127.0.0.1:9/hangs';
    await writeSpoolEntry(dir, entry('stuck1', T0 - 5000, { url: hanging }));
    await writeSpoolEntry(dir, entry('stuck2', T0 - 4000, { url: hanging }));
    await writeSpoolEntry(dir, entry('ok1', T0 - 3000));
    await writeSpoolEntry(dir, entry('ok2', T0 - 2000));
    const clock = new FakeClock(T0);
    const timeouts: Array<[string, number | undefined]> = [];
    // The hanging server answers nothing: the request runs its whole timeout, then fails.
    const http: HttpClient = {
      async request(req) {
        timeouts.push([req.url, req.timeoutMs]);
        if (req.url === hanging) {
          clock.advance(req.timeoutMs ?? 0);
          throw new HttpTransportError('ETIMEDOUT', 'timed out');
        }
        return { statusCode: 200, headers: {}, body: '' };
      },
    };

    const r = await flushSpool({ stateDir: dir, http, clock, log: memoryLog(), env, budgetMs: 10_000, requestTimeoutMs: 10_000 });

    expect(r).toEqual({ delivered: 2, rejected: 0, dropped: 0, remaining: 2, busy: false });
    expect(timeouts).toEqual([[hanging, 5_000], ['http://127.0.0.1:9/api/checkins', 10_000], ['http://127.0.0.1:9/api/checkins', 10_000]]);
    expect((await listSpool(dir)).map((f) => f.slice(15))).toEqual(['stuck1.json', 'stuck2.json']);
  });

  it('a URL alone keeps the whole budget and the usual request timeout, however slow its server', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('r1', T0 - 2000));
    const seen: Array<number | undefined> = [];
    const http: HttpClient = { request: async (req) => (seen.push(req.timeoutMs), { statusCode: 200, headers: {}, body: '' }) };

    await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 3_000, requestTimeoutMs: 10_000 });

    expect(seen).toEqual([10_000]);
  });

  it.each([
    ['a full disk', 'ENOSPC', 'no space left on device'],
    ['no free descriptor', 'EMFILE', 'too many open files'],
    ['an I/O error', 'EIO', 'i/o error'],
    ['a file held by another program', 'EBUSY', 'resource busy or locked'],
  ])('entries over the limits whose drop cannot be recorded for %s (it passes) stay spooled, and the others are still delivered', async (_why, code, text) => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('old', T0 - 8 * 86_400_000));
    for (let i = 1; i <= 3; i++) await writeSpoolEntry(dir, entry(`n${i}`, T0 - 10_000 + i));
    // The drop record cannot be appended to, for now.
    const record = join(dir, 'spool-dropped.jsonl');
    const state: StateStore = { ...createFsStateStore(dir), recordDropped: async () => {
      throw ioError('write', record, Object.assign(new Error(`${code}: ${text}, write`), { code }));
    } };
    const http = new FakeHttp();
    const log = memoryLog();

    const r = await flushSpool({ stateDir: dir, state, http, clock: new FakeClock(T0), log, env, budgetMs: 5000, limits: { maxAgeDays: 7, maxCount: 2 } });

    expect(r).toEqual({ delivered: 2, rejected: 0, dropped: 0, remaining: 0, busy: false });
    expect(http.bodies().map((b) => b.run_id)).toEqual(['n2', 'n3']);
    expect((await listSpool(dir)).map((f) => f.slice(15))).toEqual(['old.json', 'n1.json']);
    expect(log.lines.filter((l) => l.level === 'error').map((l) => [l.msg, l.obj.runIds])).toEqual([
      ['Cannot record dropped check-ins', ['old']],
      ['Cannot record dropped check-ins', ['n1']],
    ]);
  });

  it('entries over the limits are dropped when the drop record cannot be written at all (a directory in its place): logged with the file and the error, counted, the others kept', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('old', T0 - 8 * 86_400_000));
    for (let i = 1; i <= 4; i++) await writeSpoolEntry(dir, entry(`n${i}`, T0 - 10_000 + i));
    const record = join(dir, 'spool-dropped.jsonl');
    mkdirSync(record);
    // The server is down: every entry within the limits must stay.
    const http = new FakeHttp([], 503);
    const log = memoryLog();
    const once = { baseMs: 86_400_000, maxMs: 86_400_000, factor: 1, jitter: 0 };

    const first = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log, env, budgetMs: 5000, policy: once, limits: { maxAgeDays: 7, maxCount: 2 } });
    await writeSpoolEntry(dir, entry('n5', T0 - 10_000 + 5));
    const second = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log, env, budgetMs: 5000, policy: once, limits: { maxAgeDays: 7, maxCount: 2 } });

    expect(first).toEqual({ delivered: 0, rejected: 0, dropped: 3, remaining: 2, busy: false });
    expect(second).toEqual({ delivered: 0, rejected: 0, dropped: 1, remaining: 2, busy: false });
    expect((await listSpool(dir)).map((f) => f.slice(15))).toEqual(['n4.json', 'n5.json']);
    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors.map((l) => [l.msg, l.obj.runIds])).toEqual([
      ['Cannot record dropped check-ins', ['old']],
      ['Cannot record dropped check-ins', ['n1', 'n2']],
      ['Cannot record dropped check-ins', ['n3']],
    ]);
    for (const l of errors) expect(l.obj.err).toMatch(new RegExp(`^Cannot write ${record}: EISDIR`));
    expect(log.lines.filter((l) => l.msg === 'Spooled check-ins dropped').map((l) => l.obj)).toEqual([
      { count: 1, reason: 'max-age', recorded: false },
      { count: 2, reason: 'max-count', recorded: false },
      { count: 1, reason: 'max-count', recorded: false },
    ]);
    expect(JSON.stringify(log.lines)).not.toContain('tok');
  });

  it('an entry of an unknown protocol is kept as damaged, never sent as another protocol', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('future', T0 - 2000, { protocol: 'carrier-pigeon' as SpoolEntry['protocol'] }));
    await writeSpoolEntry(dir, entry('ok', T0 - 1000));
    const http = new FakeHttp();
    const log = memoryLog();

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log, env, budgetMs: 5000 });

    expect(r).toEqual({ delivered: 1, rejected: 0, dropped: 0, remaining: 0, busy: false });
    expect(http.bodies().map((b) => b.run_id)).toEqual(['ok']);
    expect((await listSpool(dir)).map((f) => f.slice(15))).toEqual(['future.json']);
    expect(log.lines.map((l) => l.msg)).toContain('Spooled check-ins that cannot be read or are damaged, kept until they expire');
  });

  it('an entry whose creation time is no date is damaged: it expires by its file-name time, never kept forever', async () => {
    const dir = tempStateDir();
    const name = await writeSpoolEntry(dir, entry('undated', T0 - 8 * 86_400_000));
    writeFileSync(name, JSON.stringify({ ...entry('undated', T0 - 8 * 86_400_000), createdAt: 'yesterday' }));
    const http = new FakeHttp([], 503);

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000, limits: { maxAgeDays: 7, maxCount: 100 } });

    expect(r).toMatchObject({ delivered: 0, dropped: 1 });
    expect(http.requests).toEqual([]);
    expect(await spoolStats(dir)).toEqual({ spooled: 0, dropped: 1 });
  });

  it('a damaged entry named from beyond the age limit in the future is dropped and counted too', async () => {
    const dir = tempStateDir();
    const spool = join(dir, 'spool');
    mkdirSync(spool, { recursive: true });
    writeFileSync(join(spool, `${String(T0 + 30 * 86_400_000).padStart(14, '0')}-from-the-future.json`), '{"version":1');

    const r = await flushSpool({ stateDir: dir, http: new FakeHttp(), clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000, limits: { maxAgeDays: 7, maxCount: 100 } });

    expect(r).toMatchObject({ dropped: 1 });
    expect(await spoolStats(dir)).toEqual({ spooled: 0, dropped: 1 });
  });

  it('removes temp files of spool writes killed before their rename once they are an hour old, and keeps younger ones', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('r1', T0 - 1000));
    const spool = join(dir, 'spool');
    const temp = (runId: string, mtimeMs: number): string => {
      const name = `.${String(T0 - 5000).padStart(14, '0')}-${runId}.json.0123456789ab.tmp`;
      writeFileSync(join(spool, name), '{"version":1,"pay');
      utimesSync(join(spool, name), mtimeMs / 1000, mtimeMs / 1000);
      return name;
    };
    temp('killed', T0 - 2 * 3_600_000);
    const young = temp('writing', T0 - 60_000);
    const log = memoryLog();

    const r = await flushSpool({ stateDir: dir, http: new FakeHttp(), clock: new FakeClock(T0), log, env, budgetMs: 5000 });

    expect(r.delivered).toBe(1);
    expect(readdirSync(spool).filter((f) => f.endsWith('.tmp'))).toEqual([young]);
    expect(log.lines.filter((l) => l.msg === 'Temp files of interrupted spool writes removed').map((l) => l.obj.count)).toEqual([1]);
  });

  it('sweeps old temp files also from a spool that holds no entry (the daemon flushes it every cycle)', async () => {
    const dir = tempStateDir();
    const spool = join(dir, 'spool');
    mkdirSync(spool, { recursive: true });
    const name = `.${String(T0 - 5000).padStart(14, '0')}-killed.json.0123456789ab.tmp`;
    writeFileSync(join(spool, name), '{"version":1,"pay');
    utimesSync(join(spool, name), (T0 - 2 * 3_600_000) / 1000, (T0 - 2 * 3_600_000) / 1000);

    const r = await flushSpool({ stateDir: dir, http: new FakeHttp(), clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000 });

    expect(r).toEqual({ delivered: 0, rejected: 0, dropped: 0, remaining: 0, busy: false });
    expect(readdirSync(spool)).toEqual([]);
  });
});

describe.skipIf(process.platform === 'win32')('shim/spool directory', () => {
  const env = { CHECKIN_SECRET: 'tok' };

  it('makes a spool directory of its own with loose modes private, then flushes it', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('r1', T0 - 1000));
    chmodSync(join(dir, 'spool'), 0o777);
    const http = new FakeHttp();

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000 });

    expect(r.delivered).toBe(1);
    expect(statSync(join(dir, 'spool')).mode & 0o777).toBe(0o700);
  });

  it.skipIf(process.getuid?.() !== 0)('never flushes a spool directory another account owns or can write: its entries choose where the secret goes', async () => {
    const dir = tempStateDir();
    await writeSpoolEntry(dir, entry('planted', T0 - 1000, { url: 'http://127.0.0.1:9/steal', secretRef: '${CHECKIN_SECRET}' }));
    chownSync(join(dir, 'spool'), 65534, 65534);
    const http = new FakeHttp();
    const log = memoryLog();

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log, env, budgetMs: 5000 });

    expect(r).toEqual({ delivered: 0, rejected: 0, dropped: 0, remaining: 1, busy: false });
    expect(http.requests).toEqual([]);
    expect(log.lines.find((l) => l.msg === 'Spool not flushed: its directory is not this agent\'s alone')?.obj.problem).toBe(`${join(dir, 'spool')} is owned by uid 65534, not by this agent (uid 0)`);
    expect(JSON.stringify(log.lines).replaceAll(dir, '<dir>')).not.toContain('tok');
  });

  it('never flushes a spool that is a symbolic link', async () => {
    const dir = tempStateDir();
    const elsewhere = tempStateDir();
    await writeSpoolEntry(elsewhere, entry('r1', T0 - 1000));
    symlinkSync(join(elsewhere, 'spool'), join(dir, 'spool'));
    const http = new FakeHttp();

    const r = await flushSpool({ stateDir: dir, http, clock: new FakeClock(T0), log: memoryLog(), env, budgetMs: 5000 });

    expect(r.remaining).toBe(1);
    expect(http.requests).toEqual([]);
  });
});

describe('shim/spool defaults', () => {
  it('a flush given no limits keeps what the config\'s defaults keep (checkin.spool in the config schema)', () => {
    const schema = JSON.parse(readFileSync(new URL('../../src/config/config.v1.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const found: Record<string, unknown> = {};
    // The spool's properties, wherever the schema nests them.
    const visit = (node: unknown): void => {
      if (node === null || typeof node !== 'object') return;
      const props = (node as { properties?: Record<string, { default?: unknown }> }).properties;
      if (props?.maxAgeDays && props.maxCount) Object.assign(found, { maxAgeDays: props.maxAgeDays.default, maxCount: props.maxCount.default });
      for (const v of Object.values(node)) visit(v);
    };
    visit(schema);

    expect(found).toEqual({ maxAgeDays: 7, maxCount: 10_000 });
    expect(DEFAULT_SPOOL_LIMITS).toEqual(found);
  });
});

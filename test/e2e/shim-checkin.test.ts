/**
 * Check-ins against a real loopback server scripted to fail: 500, 429 + Retry-After, reset,
 * hang, 422, an outage over several runs; and the secret stays out of every artefact.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../src/manifest/types.js';
import { runExec } from '../../src/shim/run.js';
import { flushSpool, listSpool, spoolStats } from '../../src/shim/spool.js';
import type { SnapshotRuntime } from '../../src/state/snapshots.js';
import { createNodeHttpClient, createUndiciHttpClient } from '../../src/system/http.js';
import type { HttpClient } from '../../src/system/http.js';
import { nodeRunner } from '../../src/system/runner.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { install, makeJob, memoryLog, tempStateDir } from '../shim/fixtures.js';
import { startCheckinServer } from './helpers/checkin-server.js';
import type { Behaviour, CheckinServer } from './helpers/checkin-server.js';

const SECRET = 'S3CRET-never-log-me';
const sink = { text: '', write(c: Uint8Array | string) { this.text += String(c); return true; } };
let servers: CheckinServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function server(script?: (n: number) => Behaviour): Promise<CheckinServer> {
  const s = await startCheckinServer(script);
  servers.push(s);
  return s;
}

async function setup(url: string, spec: Partial<Job['spec']> = {}, runtime: Partial<SnapshotRuntime> = {}) {
  const dir = tempStateDir();
  const id = await install(dir, makeJob('job', { command: 'echo hello', ...spec }), { checkin: { url, protocol: 'crontopus', start: false }, ...runtime });
  const clock = new FakeClock();
  const log = memoryLog();
  const run = (http: HttpClient = createNodeHttpClient(), budget = 20_000) => runExec({
    jobId: id, stateDir: dir, clock, http, log, env: { PATH: process.env.PATH, CHECKIN_SECRET: SECRET }, stdout: sink, stderr: sink,
    runner: nodeRunner, random: () => 0.5, requestTimeoutMs: 300, checkinBudgetMs: budget,
  });
  return { dir, id, clock, log, run };
}

describe('e2e/shim check-in', () => {
  it('retries 500 with backoff and delivers once', async () => {
    const s = await server((n) => (n < 2 ? { status: 500 } : { status: 201 }));
    const t = await setup(s.url);

    expect(await t.run()).toBe(0);

    expect(s.received).toHaveLength(3);
    expect(t.clock.sleeps).toEqual([1000, 2000]);
    expect(s.delivered()).toEqual([expect.objectContaining({ status: 'success', output: 'hello\n', duration: 0, exit_code: 0 })]);
    expect(new Set(s.received.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(await listSpool(t.dir)).toEqual([]);
  });

  it('honours Retry-After on 429', async () => {
    const s = await server((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '17' } } : { status: 200 }));
    const t = await setup(s.url);

    await t.run(createNodeHttpClient(), 60_000);

    expect(t.clock.sleeps).toEqual([17_000]);
    expect(s.delivered()).toHaveLength(1);
  });

  it('retries a connection reset', async () => {
    const s = await server((n) => (n === 0 ? 'reset' : { status: 200 }));
    const t = await setup(s.url);

    await t.run();

    expect(s.received).toHaveLength(2);
    expect(s.delivered()).toHaveLength(1);
  });

  it.each([['node:http', createNodeHttpClient], ['undici', createUndiciHttpClient]])('a hanging server times out per request (%s) and the check-in is spooled, 0600, without the secret', async (_n, make) => {
    const s = await server(() => 'hang');
    const t = await setup(s.url);

    expect(await t.run(make(), 3000)).toBe(0);

    expect(s.received).toHaveLength(2);
    const files = await listSpool(t.dir);
    expect(files).toHaveLength(1);
    const text = readFileSync(join(t.dir, 'spool', files[0] as string), 'utf8');
    expect(JSON.parse(text)).toMatchObject({ owner: null, secretRef: '${CHECKIN_SECRET}', payload: { status: 'success' } });
    expect(text).not.toContain(SECRET);
    expect(t.log.lines.map((l) => l.msg)).toContain('Check-in spooled for later delivery');
  });

  it('does not retry 422: logged, dropped and counted, never spooled', async () => {
    const s = await server(() => ({ status: 422 }));
    const t = await setup(s.url);

    expect(await t.run()).toBe(0);

    expect(s.received).toHaveLength(1);
    expect(await spoolStats(t.dir)).toEqual({ spooled: 0, dropped: 1 });
    expect(t.log.lines.find((l) => l.level === 'error')?.msg).toBe('Check-in rejected by the server, not retried');
  });

  it('an outage over 3 runs: everything is delivered exactly once when the server is back', async () => {
    let down = true;
    const s = await server(() => (down ? 'reset' : { status: 200 }));
    const t = await setup(s.url, { command: 'exit 1' });

    for (let i = 0; i < 3; i++) expect(await t.run(createNodeHttpClient(), 2000)).toBe(1);
    expect(await listSpool(t.dir)).toHaveLength(3);
    down = false;
    await t.run();
    await flushSpool({ stateDir: t.dir, http: createNodeHttpClient(), clock: t.clock, log: t.log, env: { CHECKIN_SECRET: SECRET }, budgetMs: 5000 });

    const ids = s.delivered().map((b) => b.run_id);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    expect(await listSpool(t.dir)).toEqual([]);
    expect(s.received.filter((r) => r.headers.authorization !== `Bearer ${SECRET}`)).toEqual([]);
  });

  it('healthchecks protocol: ping URL with exit code and rid, log as body', async () => {
    const s = await server();
    const t = await setup(s.url.replace('/api/checkins', ''), { command: 'echo out; exit 3', checkin: { enabled: true, secret: '${CHECKIN_SECRET}', timeout: 60 } }, { checkin: { url: s.url.replace('/api/checkins', ''), protocol: 'healthchecks', start: true } });

    await t.run();

    expect(s.received.map((r) => r.url.replace(/rid=[0-9a-f-]+/, 'rid=X'))).toEqual([`/${SECRET}/job/start?rid=X`, `/${SECRET}/job/3?rid=X`]);
    expect(s.received[1]?.body).toBe('out\n');
  });

  it('the secret never reaches the logs, the spool, the last-run record or the state dir', async () => {
    const s = await server(() => 'reset');
    const t = await setup(s.url, { command: 'echo $CRONSYNC_RUN_ID; exit 2' });

    await t.run(createNodeHttpClient(), 2000);

    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (p: string) => files.push(p))(join(d, e.name));
    };
    walk(t.dir);
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect(readFileSync(f, 'utf8')).not.toContain(SECRET);
    expect(JSON.stringify(t.log.lines)).not.toContain(SECRET);
    expect(sink.text).not.toContain(SECRET);
  });
});

/**
 * `cronsync daemon` as a real child process (the built CLI) against a real Git smart-HTTP
 * server, writing a cron.d file into a temporary directory: new commits appear within one
 * interval, a git outage is survived with the last good state kept and recovered from,
 * SIGHUP reloads (a broken config is refused), SIGTERM during a sync exits 0 with consistent
 * state, health endpoints answer, and a signed webhook triggers a sync early.
 * Every wait is a poll with a deadline; nothing asserts on a fixed sleep.
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCronD } from '../../src/scheduler/crond/parse.js';
import { listJobSnapshots } from '../../src/state/snapshots.js';
import type { StatusFile } from '../../src/status/types.js';
import { ensureBuilt, exitWithin, jobYaml, startCli, startTcpProxy, waitFor } from './fixtures/daemon-process.js';
import type { CliChild, LogLine, TcpProxy } from './fixtures/daemon-process.js';
import { createRepo, gitAvailable, startGitServer } from './helpers/git-server.js';
import { startCheckinServer } from './helpers/checkin-server.js';
import { runCli } from './fixtures/sync-cli.js';
import { runExec } from '../../src/shim/run.js';
import { listSpool, writeSpoolEntry } from '../../src/shim/spool.js';
import { systemClock } from '../../src/system/clock.js';
import { createNodeHttpClient } from '../../src/system/http.js';
import { nodeRunner } from '../../src/system/runner.js';
import { memoryLog } from '../shim/fixtures.js';
import type { GitServer, TestRepo } from './helpers/git-server.js';

const INTERVAL_MS = 1_000;
/**
 * How long to wait for an outcome before failing. A bound against hangs, not a latency
 * assertion: tests assert what happened and in which order, and leave speed to `npm run bench`.
 */
const WAIT_MS = 20_000;
const WEBHOOK_SECRET = 'process-test-webhook-secret-0123456789';

let server: GitServer;
const children: CliChild[] = [];
const proxies: TcpProxy[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  if (!gitAvailable) return;
  await ensureBuilt();
  server = await startGitServer();
}, 180_000);

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    for (const c of children) console.error(`daemon ${c.pid} stdout (tail):\n${c.stdout().slice(-4000)}\nstderr:\n${c.stderr().slice(-2000)}`);
  }
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  for (const c of cleanups.splice(0)) await c();
});

afterAll(async () => {
  await server?.stop();
});

interface Env {
  dir: string;
  stateDir: string;
  cronDir: string;
  config: string;
  cronFile: string;
}

function tempEnv(): Env {
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-daemon-proc-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cronDir = join(dir, 'cron.d');
  // Like /etc/cron.d, the directory exists before the agent runs; the adapter never creates it.
  mkdirSync(cronDir);
  return { dir, stateDir: join(dir, 'state'), cronDir, config: join(dir, 'config.yaml'), cronFile: join(cronDir, 'cronsync') };
}

function writeConfig(env: Env, o: { url: string; labels?: string; interval?: string; webhooks?: boolean; exclude?: string; checkinUrl?: string; syncTimeout?: string }): void {
  writeFileSync(env.config, [
    'agent:',
    '  name: proc-host',
    '  tenant: t1',
    `  labels: { role: ${o.labels ?? 'a'} }`,
    'source:',
    `  url: ${JSON.stringify(o.url)}`,
    '  ref: main',
    ...(o.exclude ? [`  exclude: [${JSON.stringify(o.exclude)}]`] : []),
    `  interval: ${o.interval ?? '1s'}`,
    '  timeout: 10s',
    'scheduler:',
    '  kind: cron.d',
    `  cronDir: ${JSON.stringify(env.cronDir)}`,
    `stateDir: ${JSON.stringify(env.stateDir)}`,
    ...(o.checkinUrl ? [`checkin: { url: ${JSON.stringify(o.checkinUrl)} }`] : []),
    'daemon:',
    '  maxBackoff: 2s',
    ...(o.syncTimeout ? [`  syncTimeout: ${o.syncTimeout}`] : []),
    '  health: { listen: "127.0.0.1:0" }',
    ...(o.webhooks ? ['  webhooks: { listen: "127.0.0.1:0", secretEnv: E2E_HOOK_SECRET }'] : []),
    'log: { level: info }',
    '',
  ].join('\n'));
}

function startDaemon(env: Env): CliChild {
  const child = startCli(['daemon', '--config', env.config], { cwd: env.dir, env: { E2E_HOOK_SECRET: WEBHOOK_SECRET } });
  children.push(child);
  return child;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Job ids in the cron.d file (any source), sorted; null when there is no file. */
function cronJobs(env: Env): string[] | null {
  const text = readText(env.cronFile);
  if (text === null) return null;
  return parseCronD(text, 'cronsync', '').entries.flatMap((e) => (e.marker ? [e.marker.jobId] : [])).sort();
}

function status(env: Env): StatusFile | null {
  const text = readText(join(env.stateDir, 'status.json'));
  return text === null ? null : (JSON.parse(text) as StatusFile);
}

const hasLog = (child: CliChild, msg: string): LogLine | undefined => child.logs().find((l) => l.msg === msg);

/** The port of the listener serving `what` ('health' or 'webhooks'), from the daemon's 'Listening' log line. */
async function listenerPort(child: CliChild, what: string): Promise<number> {
  const line = await waitFor(`a ${what} listener`, () => child.logs().find((l) => l.msg === 'Listening' && (l.serves as string[] | undefined)?.includes(what)), 15_000);
  return Number(String(line.address).split(':').pop());
}

/** Waits for the cron.d file to hold exactly `ids`. */
function cronHas(env: Env, ids: string[], timeoutMs: number): Promise<string[]> {
  const want = [...ids].sort().join(',');
  return waitFor(`cron.d to hold ${want}`, () => {
    const got = cronJobs(env);
    return got !== null && got.join(',') === want ? got : undefined;
  }, timeoutMs, 25);
}

function newRepo(root: string, name: string, files: Record<string, string>): TestRepo {
  return createRepo(root, name, files);
}

describe.skipIf(!gitAvailable)('e2e daemon process', () => {
  it('installs the first commit, picks up a new commit by polling, and answers /healthz and /readyz', async () => {
    const env = tempEnv();
    const repo = newRepo(server.root, 'sync', { 'jobs/one.yaml': jobYaml('t1', 'one') });
    writeConfig(env, { url: server.repoUrl('sync') });
    const child = startDaemon(env);

    await cronHas(env, ['t1/one'], 20_000);
    const port = await listenerPort(child, 'health');
    const healthz = await fetch(`http://127.0.0.1:${port}/healthz`);
    const readyz = await waitFor('/readyz 200', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      return r.status === 200 ? r : undefined;
    }, 5_000);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

    const commit = repo.commit({ 'jobs/two.yaml': jobYaml('t1', 'two') });
    await cronHas(env, ['t1/one', 't1/two'], WAIT_MS);
    const st = await waitFor('status at the new commit', () => {
      const s = status(env);
      return s?.source?.commit === commit ? s : undefined;
    }, 5_000);

    expect(healthz.status).toBe(200);
    expect(((await healthz.json()) as { status: string }).status).toBe('ok');
    expect(((await readyz.json()) as { lastResult: string }).lastResult).toBe('ok');
    expect(metrics).toMatch(/cronsync_syncs_total\{result="ok"\} [1-9]/);
    expect(st.lastAttempt.result).toBe('ok');
    expect(st.jobs.map((j) => j.id).sort()).toEqual(['t1/one', 't1/two']);
    expect(await listJobSnapshots(env.stateDir)).toEqual(['t1/one', 't1/two']);
    expect(child.alive()).toBe(true);
  }, 60_000);

  it('survives a git outage of several cycles: stays alive, reports SourceFetchFailed with the backoff, keeps the last good state, recovers', async () => {
    const env = tempEnv();
    const root = mkdtempSync(join(tmpdir(), 'cronsync-outage-git-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    let git = await startGitServer({ root });
    cleanups.push(() => git.stop());
    const proxy = await startTcpProxy(Number(new URL(git.baseUrl).port));
    proxies.push(proxy);
    const repo = newRepo(root, 'outage', { 'jobs/one.yaml': jobYaml('t1', 'one') });
    writeConfig(env, { url: `http://127.0.0.1:${proxy.port}/outage.git` });
    const child = startDaemon(env);
    await cronHas(env, ['t1/one'], 20_000);
    const port = await listenerPort(child, 'health');
    const before = readFileSync(env.cronFile, 'utf8');

    // The server goes away: the proxy's port refuses connections and the git server stops.
    await proxy.down();
    await git.stop({ keep: true });
    const failing = await waitFor('status to show repeated fetch failures', () => {
      const s = status(env);
      return s && s.lastAttempt.result === 'error' && (s.daemon?.consecutiveFailures ?? 0) >= 2 ? s : undefined;
    }, 20_000);
    const readyDown = await fetch(`http://127.0.0.1:${port}/readyz`);
    const healthDown = await fetch(`http://127.0.0.1:${port}/healthz`);
    const duringOutage = readFileSync(env.cronFile, 'utf8');
    const backoffs = child.logs().filter((l) => l.msg === 'Sync failed, backing off');
    // A commit pushed while the server is down is picked up after it returns.
    repo.commit({ 'jobs/two.yaml': jobYaml('t1', 'two') });

    git = await startGitServer({ root });
    proxy.target = Number(new URL(git.baseUrl).port);
    await proxy.up();
    await cronHas(env, ['t1/one', 't1/two'], 15_000);
    const recovered = await waitFor('status ok again', () => {
      const s = status(env);
      return s?.lastAttempt.result === 'ok' ? s : undefined;
    }, 10_000);

    expect(child.alive()).toBe(true);
    expect(failing.lastAttempt.reason).toBe('SourceFetchFailed');
    expect(failing.lastAttempt.error).toBeTruthy();
    expect(failing.daemon?.intervalMs).toBe(INTERVAL_MS);
    // The status tells when the loop retries: after the attempt, within the 2s backoff cap (+ slack for the spool flush).
    const retryAt = Date.parse(failing.daemon?.nextAttemptAt ?? '');
    expect(retryAt - Date.parse(failing.lastAttempt.finishedAt)).toBeGreaterThan(0);
    expect(retryAt - Date.parse(failing.lastAttempt.finishedAt)).toBeLessThanOrEqual(2_000 + 500);
    // The count includes the attempt the file describes, as the matching log line does.
    expect(backoffs.some((l) => l.consecutiveFailures === failing.daemon?.consecutiveFailures)).toBe(true);
    expect(failing.jobs.map((j) => j.id)).toEqual(['t1/one']);
    expect(failing.lastSuccess).not.toBeNull();
    expect(duringOutage).toBe(before);
    expect(readyDown.status).toBe(503);
    expect(healthDown.status).toBe(200);
    expect(backoffs.length).toBeGreaterThanOrEqual(2);
    // daemon.maxBackoff is 2s: the backoff is capped there.
    expect(backoffs.every((l) => typeof l.retryInMs === 'number' && l.retryInMs <= 2_000)).toBe(true);
    expect(recovered.daemon?.consecutiveFailures).toBe(0);
    expect(Date.parse(recovered.daemon?.nextAttemptAt ?? '') - Date.parse(recovered.lastAttempt.finishedAt)).toBeLessThanOrEqual(INTERVAL_MS * 1.1 + 500);
    expect(recovered.lastAttempt.reason ?? null).toBeNull();
  }, 90_000);

  it('daemon.syncTimeout aborts a sync stuck on a server that accepts and never answers, before source.timeout, and the loop goes on', async () => {
    const env = tempEnv();
    const sockets = new Set<Socket>();
    const silent = createServer((sock) => void sockets.add(sock));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const sock of sockets) sock.destroy();
      silent.close();
    });
    // source.timeout is 10s (writeConfig); the sync's own bound is 1s. Without it the syncs would
    // fail with SourceFetchFailed after 10s, never SyncTimedOut, however long this waits.
    writeConfig(env, { url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/silent.git`, syncTimeout: '1s' });
    const child = startDaemon(env);

    const timedOut = await waitFor('two syncs to time out', () => {
      const s = status(env);
      return s?.lastAttempt.reason === 'SyncTimedOut' && (s.daemon?.consecutiveFailures ?? 0) >= 2 ? s : undefined;
    }, 20_000);

    expect(timedOut.lastAttempt.error).toMatch(/^sync timed out after 1 s \(daemon\.syncTimeout\)/);
    expect(child.alive()).toBe(true);
    expect(child.logs().filter((l) => l.msg === 'Sync timed out, aborting it').length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('SIGHUP: a broken config is refused and the old one keeps syncing; a valid changed config takes effect', async () => {
    const env = tempEnv();
    const repo = newRepo(server.root, 'reload', {
      'jobs/plain.yaml': jobYaml('t1', 'plain'),
      'jobs/for-b.yaml': jobYaml('t1', 'for-b', '*/5 * * * *', '  agent:\n    selector: { role: b }\n'),
    });
    const url = server.repoUrl('reload');
    writeConfig(env, { url, labels: 'a' });
    const child = startDaemon(env);
    await cronHas(env, ['t1/plain'], 20_000);

    writeFileSync(env.config, 'agent: [this is: not valid\nsource: {}\n');
    child.proc.kill('SIGHUP');
    const failed = await waitFor('the reload failure log', () => hasLog(child, 'Reload failed; keeping the previous configuration'), 10_000);
    repo.commit({ 'jobs/after-bad.yaml': jobYaml('t1', 'after-bad') });
    await cronHas(env, ['t1/after-bad', 't1/plain'], WAIT_MS);
    const alive = child.alive();

    writeConfig(env, { url, labels: 'b' });
    child.proc.kill('SIGHUP');
    await waitFor('the reload log', () => hasLog(child, 'Configuration reloaded'), 10_000);
    await cronHas(env, ['t1/after-bad', 't1/for-b', 't1/plain'], WAIT_MS);

    expect(alive).toBe(true);
    expect(failed.level).toBe('error');
    expect(JSON.stringify(failed)).toMatch(/config/i);
    expect(child.alive()).toBe(true);
    await waitFor('the status to show the new labels', () => status(env)?.agent.labels.role === 'b', 5_000);
  }, 60_000);

  // The source id hashes source.ref, paths and exclude, so the edit gives it a new id; the agent
  // recorded the old one in <stateDir>/sources.json and keeps owning its entries.
  it('SIGHUP changing source.exclude removes the excluded job and keeps owning the others', async () => {
    const env = tempEnv();
    newRepo(server.root, 'refilter', { 'jobs/one.yaml': jobYaml('t1', 'one'), 'jobs/two.yaml': jobYaml('t1', 'two'), 'jobs/three.yaml': jobYaml('t1', 'three') });
    const url = server.repoUrl('refilter');
    writeConfig(env, { url });
    const child = startDaemon(env);
    await cronHas(env, ['t1/one', 't1/three', 't1/two'], 20_000);

    writeConfig(env, { url, exclude: 'jobs/two.yaml' });
    child.proc.kill('SIGHUP');
    await waitFor('the reload log', () => hasLog(child, 'Configuration reloaded'), 10_000);
    const st = await waitFor('a status written after the reload', () => {
      const s = status(env);
      return s && Date.parse(s.lastAttempt.startedAt) > Date.parse(String(hasLog(child, 'Configuration reloaded')?.time)) ? s : undefined;
    }, 10_000);

    expect(st.counts.conflicts).toBe(0);
    expect(st.jobs.map((j) => `${j.id}:${j.state}`).sort()).toEqual(['t1/one:installed', 't1/three:installed']);
    expect(cronJobs(env)).toEqual(['t1/one', 't1/three']);
  }, 60_000);

  it('/metrics counts spooled check-ins the flush evicts past checkin.spool.maxAgeDays as dropped', async () => {
    const env = tempEnv();
    newRepo(server.root, 'evict', { 'jobs/one.yaml': jobYaml('t1', 'one') });
    writeConfig(env, { url: server.repoUrl('evict') });
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
    await writeSpoolEntry(env.stateDir, {
      version: 1, protocol: 'crontopus', url: 'http://127.0.0.1:9/api/checkins', jobId: 't1/one', createdAt: old, secretRef: null, owner: null,
      payload: { job_name: 'one', tenant: 't1', status: 'success', started_at: old, agent_id: 'proc-host', run_id: 'evicted', attempts: 1, commit: null },
    });
    const child = startDaemon(env);
    const port = await listenerPort(child, 'health');

    const metrics = await waitFor('the eviction counted', async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.includes('cronsync_checkins_total{outcome="dropped"} 1') ? text : undefined;
    }, WAIT_MS);

    expect(metrics).toContain('cronsync_checkins_total{outcome="sent"} 0');
    expect(await listSpool(env.stateDir)).toEqual([]);
  }, 60_000);

  it('a check-in API that hangs holds up neither the next syncs nor the stop; the spooled check-in stays on disk', async () => {
    const env = tempEnv();
    const repo = newRepo(server.root, 'hang', { 'jobs/one.yaml': jobYaml('t1', 'one') });
    const api = await startCheckinServer(() => 'hang');
    cleanups.push(() => api.close());
    writeConfig(env, { url: server.repoUrl('hang'), checkinUrl: api.url });
    expect((await runCli(['sync', '--config', env.config])).code).toBe(0);
    // A run whose check-in gets no answer is spooled.
    await runExec({
      jobId: 't1/one', stateDir: env.stateDir, clock: systemClock, http: createNodeHttpClient(), runner: nodeRunner,
      log: memoryLog(), env: {}, stdout: { write: () => true }, stderr: { write: () => true }, requestTimeoutMs: 200, checkinBudgetMs: 1,
    });
    const spooled = await listSpool(env.stateDir);
    await waitFor('the exec\'s connection closed', () => api.openConnections() === 0, WAIT_MS);

    const child = startDaemon(env);
    // The daemon's flush sends the spooled check-in; the API holds it without an answer.
    await waitFor('the flush held by the API', () => api.received.length === 2, WAIT_MS);
    const heldSince = status(env)?.lastAttempt.startedAt;
    repo.commit({ 'jobs/two.yaml': jobYaml('t1', 'two') });
    await cronHas(env, ['t1/one', 't1/two'], WAIT_MS);
    const later = await waitFor('a sync after the held flush began', () => {
      const s = status(env);
      return s && heldSince !== undefined && s.lastAttempt.startedAt > heldSince ? s : undefined;
    }, WAIT_MS);
    // Both happened while the flush's request was still open: the syncs did not wait for it.
    const openDuringSyncs = api.openConnections();
    const requestsDuringSyncs = api.received.length;
    child.proc.kill('SIGTERM');
    const code = await exitWithin(child, WAIT_MS);

    expect(spooled).toHaveLength(1);
    expect(later.lastAttempt.result).toBe('ok');
    expect(openDuringSyncs).toBe(1);
    // One flush at a time: the syncs meanwhile did not start a second send.
    expect(requestsDuringSyncs).toBe(2);
    expect(code).toBe(0);
    expect(await listSpool(env.stateDir)).toEqual(spooled);
  }, 60_000);

  it('SIGTERM during a sync finishes it, logs the stop in order, exits 0 and leaves a consistent cron.d file, snapshots and status', async () => {
    const env = tempEnv();
    const repo = newRepo(server.root, 'term', { 'jobs/one.yaml': jobYaml('t1', 'one') });
    writeConfig(env, { url: server.repoUrl('term') });
    const child = startDaemon(env);
    await cronHas(env, ['t1/one'], 20_000);

    // The next fetch's pack request is held for 1.5 s, so the signal lands inside a sync.
    let held = 0;
    server.hook = async (req) => {
      if (req.method === 'POST' && req.url?.startsWith('/term.git/git-upload-pack')) {
        held++;
        await new Promise((r) => setTimeout(r, 1_500));
      }
      return false;
    };
    cleanups.push(() => void (server.hook = null));
    repo.commit({ 'jobs/two.yaml': jobYaml('t1', 'two'), 'jobs/three.yaml': jobYaml('t1', 'three') });
    await waitFor('a held pack request', () => held > 0, 10_000, 10);
    child.proc.kill('SIGTERM');
    const code = await exitWithin(child, WAIT_MS);
    const logs = child.logs().map((l) => l.msg);

    const cron = cronJobs(env);
    const st = status(env);
    expect(code).toBe(0);
    expect(logs.indexOf('Stopping: waiting for the sync in flight')).toBeGreaterThanOrEqual(0);
    expect(logs.indexOf('Stopped')).toBeGreaterThan(logs.indexOf('Stopping: waiting for the sync in flight'));
    expect(cron).not.toBeNull();
    expect(cron).toEqual(await listJobSnapshots(env.stateDir));
    expect(st?.jobs.map((j) => j.id).sort()).toEqual(cron);
    expect(readdirSync(env.cronDir)).toEqual(['cronsync']);
  }, 60_000);

  it('a SIGHUP (or a second SIGTERM) while it stops does not kill it: the apply in flight finishes and it exits 0', async () => {
    const env = tempEnv();
    const repo = newRepo(server.root, 'termhup', { 'jobs/one.yaml': jobYaml('t1', 'one') });
    writeConfig(env, { url: server.repoUrl('termhup') });
    const child = startDaemon(env);
    await cronHas(env, ['t1/one'], 20_000);

    // The next pack request is held until the test releases it, so both signals land inside a sync.
    let held = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    server.hook = async (req) => {
      if (req.method === 'POST' && req.url?.startsWith('/termhup.git/git-upload-pack')) {
        held++;
        await gate;
      }
      return false;
    };
    cleanups.push(() => {
      release();
      server.hook = null;
    });
    repo.commit({ 'jobs/two.yaml': jobYaml('t1', 'two') });
    await waitFor('a held pack request', () => held > 0, 10_000, 10);
    child.proc.kill('SIGTERM');
    await waitFor('the stop to begin', () => hasLog(child, 'Stopping: waiting for the sync in flight'), 10_000, 10);
    child.proc.kill('SIGHUP');
    child.proc.kill('SIGTERM');
    await waitFor('the second signal to be handled', () => hasLog(child, 'Stop signal received again; still finishing the sync in flight') ?? (child.proc.exitCode !== null || child.proc.signalCode !== null), 10_000, 10);
    release();
    const code = await exitWithin(child, 10_000);

    expect(code).toBe(0);
    expect(hasLog(child, 'Reload signal ignored: the daemon is stopping')).toBeTruthy();
    expect(cronJobs(env)).toEqual(['t1/one', 't1/two']);
  }, 60_000);

  it('a GitHub-signed webhook triggers a sync long before the 1h interval; a badly signed or replayed one does not', async () => {
    const env = tempEnv();
    const repo = newRepo(server.root, 'hooked', { 'jobs/one.yaml': jobYaml('t1', 'one') });
    writeConfig(env, { url: server.repoUrl('hooked'), interval: '1h', webhooks: true });
    const child = startDaemon(env);
    await cronHas(env, ['t1/one'], 20_000);
    const port = await listenerPort(child, 'webhooks');
    const fetches = (): number => server.requests.filter((r) => r.path === '/hooked.git/info/refs').length;
    repo.commit({ 'jobs/two.yaml': jobYaml('t1', 'two') });
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main' }));
    const sign = (secret: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const post = (sig: string, id: string) => fetch(`http://127.0.0.1:${port}/hooks/github`, {
      method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': id, 'x-hub-signature-256': sig },
    });

    const before = fetches();
    const bad = await post(sign('not-the-secret-at-all-000'), 'd-1');
    await waitFor('the rejection log', () => hasLog(child, 'Webhook signature invalid'), 5_000);
    // A sync starts at once when triggered; a second is ample to see one that should not happen.
    const quietAfterBad = await quiet(() => fetches() === before && cronJobs(env)?.join() === 't1/one', 1_000);

    const good = await post(sign(WEBHOOK_SECRET), 'd-2');
    // The interval is 1 h: the sync that installs two can only have come from the webhook.
    await cronHas(env, ['t1/one', 't1/two'], WAIT_MS);
    const afterGood = fetches();
    const replay = await post(sign(WEBHOOK_SECRET), 'd-2');
    const quietAfterReplay = await quiet(() => fetches() === afterGood, 1_000);

    expect(bad.status).toBe(401);
    expect(quietAfterBad).toBe(true);
    expect(good.status).toBe(202);
    expect(afterGood).toBe(before + 1);
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as { status: string }).status).toBe('duplicate');
    expect(quietAfterReplay).toBe(true);
  }, 60_000);
});

/** True when `cond` holds on every poll for `ms` (a bounded negative check). */
async function quiet(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!cond()) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

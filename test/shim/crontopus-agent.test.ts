import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeStoredIdentity } from '../../src/crontopus/identity.js';
import { agentCheckinBody, buildRequest } from '../../src/shim/checkin.js';
import type { CheckinPayload } from '../../src/shim/checkin.js';
import { runExec } from '../../src/shim/run.js';
import { flushSpool, listSpool, spoolStats } from '../../src/shim/spool.js';
import type { SnapshotRuntime } from '../../src/state/snapshots.js';
import { nodeRunner } from '../../src/system/runner.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import type { FakeAnswer } from '../fakes/FakeHttp.js';
import { install, makeJob, memoryLog, removeTempStateDirs, tempStateDir } from './fixtures.js';

const BASE = 'http://crontopus.test';
const TOKEN = 'endpoint-token-abc';
const sink = { write: () => true };

afterEach(removeTempStateDirs);

async function setup(command: string, opts: { identity?: boolean; start?: boolean } = {}) {
  const dir = tempStateDir();
  // The snapshot runtime's type predates crontopus-agent; the reconciler copies the config value as is.
  const runtime = { checkin: { url: BASE, protocol: 'crontopus-agent', start: opts.start ?? false } } as unknown as Partial<SnapshotRuntime>;
  const id = await install(dir, makeJob('backup', { command }), runtime);
  if (opts.identity !== false) writeStoredIdentity(dir, { version: 1, url: BASE, endpointId: 5, token: TOKEN, machineId: 'm' });
  const run = (http: FakeHttp) => runExec({
    jobId: id, stateDir: dir, clock: new FakeClock(), http, log: memoryLog(), env: { PATH: process.env.PATH }, stdout: sink, stderr: sink,
    runner: nodeRunner, random: () => 0.5, requestTimeoutMs: 300, checkinBudgetMs: 5_000,
  });
  return { dir, run };
}

const flush = (dir: string, http: FakeHttp) => flushSpool({ stateDir: dir, http, clock: new FakeClock(), log: memoryLog(), env: {}, budgetMs: 5_000 });

describe('shim (crontopus-agent)', () => {
  it('checks in once on the agent route with the endpoint token, endpoint id and namespace, never a running check-in', async () => {
    const t = await setup('echo out; exit 3', { start: true });
    const http = new FakeHttp([201]);

    expect(await t.run(http)).toBe(3);

    expect(http.requests).toHaveLength(1);
    expect(http.requests[0]).toMatchObject({ url: `${BASE}/api/runs/check-in`, method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    const body = http.bodies()[0] as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['duration', 'endpoint_id', 'error_message', 'exit_code', 'job_name', 'namespace', 'output', 'run_id', 'status']);
    expect(body).toMatchObject({ endpoint_id: 5, job_name: 'backup', namespace: 'jobs', status: 'failure', exit_code: 3, duration: 0, output: 'out\n' });
    expect(String(body.error_message)).toContain('exit code 3');
  });

  it('without an identity yet, spools the check-in (no token in it) for the daemon, which sends it with the identity of that moment', async () => {
    const t = await setup('echo hi', { identity: false });
    const none = new FakeHttp();

    expect(await t.run(none)).toBe(0);
    const files = await listSpool(t.dir);
    writeStoredIdentity(t.dir, { version: 1, url: `${BASE}/`, endpointId: 9, token: 'later-token', machineId: 'm' });
    const http = new FakeHttp([201]);
    const r = await flush(t.dir, http);

    expect(none.requests).toEqual([]);
    expect(files).toHaveLength(1);
    expect(r).toMatchObject({ delivered: 1, remaining: 0 });
    expect(http.requests[0]?.headers?.authorization).toBe('Bearer later-token');
    expect(http.bodies()[0]).toMatchObject({ endpoint_id: 9, namespace: 'jobs', status: 'success' });
  });

  it('keeps a check-in refused with 401 spooled (not dropped) and reports the refusal from the flush', async () => {
    const t = await setup('echo hi');
    const http = new FakeHttp([401, 401]);

    expect(await t.run(http)).toBe(0);
    const files = await listSpool(t.dir);
    const r = await flush(t.dir, http);

    expect(http.requests).toHaveLength(2);
    expect(files).toHaveLength(1);
    expect(readFileSync(join(t.dir, 'spool', files[0] as string), 'utf8')).not.toContain(TOKEN);
    expect(r).toMatchObject({ delivered: 0, remaining: 1, refused: true });
    expect(await spoolStats(t.dir)).toEqual({ spooled: 1, dropped: 0 });
  });

  it.each<[string, FakeAnswer, number]>([['404 (unknown endpoint)', 404, 1], ['422', 422, 1]])('drops a check-in rejected with %s, as other 4xx', async (_n, answer, dropped) => {
    const t = await setup('echo hi');

    await t.run(new FakeHttp([answer]));

    expect(await spoolStats(t.dir)).toEqual({ spooled: 0, dropped });
  });
});

describe('shim/checkin agentCheckinBody', () => {
  const payload: CheckinPayload = { job_name: 'j', tenant: 't', status: 'success', started_at: 'x', duration: 2, exit_code: 0, output: 'o', error_message: 'ignored on success', agent_id: 'a', run_id: 'r', attempts: 1, commit: null };

  it('sends no error_message on success and defaults the namespace', () => {
    expect(agentCheckinBody({ protocol: 'crontopus-agent', url: BASE, payload }, 1)).toEqual({ endpoint_id: 1, job_name: 'j', namespace: 'default', status: 'success', exit_code: 0, duration: 2, output: 'o', error_message: null, run_id: 'r' });
  });

  it('builds the request against the base URL, with or without a trailing slash', () => {
    const req = buildRequest({ protocol: 'crontopus-agent', url: `${BASE}/`, payload, namespace: 'ops' }, TOKEN, 1000, 4);

    expect(req.url).toBe(`${BASE}/api/runs/check-in`);
    expect(JSON.parse(String(req.body))).toMatchObject({ endpoint_id: 4, namespace: 'ops' });
    expect(req.headers?.['idempotency-key']).toBe('r');
  });
});

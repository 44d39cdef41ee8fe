import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCrontopusAgent } from '../../src/crontopus/client.js';
import type { CrontopusAgentOptions } from '../../src/crontopus/client.js';
import { identityPath, readEndpointIdentity, writeStoredIdentity } from '../../src/crontopus/identity.js';
import type { JobInstance } from '../../src/crontopus/instances.js';
import type { StatusCrontopus } from '../../src/status/types.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../src/system/http.js';
import { HttpTransportError } from '../../src/system/http.js';
import { ManualClock, flush } from '../fakes/ManualClock.js';
import { memoryLog } from '../shim/fixtures.js';

const URL_ = 'http://backend.test';
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Answers by route; `answer` may be changed between steps. */
class RouteHttp implements HttpClient {
  readonly requests: HttpRequest[] = [];
  tokens = 0;
  answer: (path: string, req: HttpRequest) => { status: number; body?: string } | 'down' = (path) => (path.endsWith('/enroll') ? { status: 201, body: JSON.stringify({ agent_id: 7, token: `tok-${++this.tokens}` }) } : { status: 200 });

  async request(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push(req);
    const a = this.answer(new URL(req.url).pathname, req);
    if (a === 'down') throw new HttpTransportError('ECONNREFUSED', 'refused');
    return { statusCode: a.status, headers: {}, body: a.body ?? '' };
  }

  paths(): string[] {
    return this.requests.map((r) => new URL(r.url).pathname);
  }
}

const instances: JobInstance[] = [{ job_name: 'backup', namespace: 'production', status: 'scheduled', source: 'git', original_command: 'echo hi' }];

function setup(identity: CrontopusAgentOptions['identity'] = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), 'cronsync-crontopus-client-'));
  dirs.push(stateDir);
  const enrollmentTokenFile = join(stateDir, 'cet');
  writeFileSync(enrollmentTokenFile, 'cet_secret\n', { mode: 0o600 });
  const http = new RouteHttp();
  const clock = new ManualClock();
  const log = memoryLog();
  const statuses: StatusCrontopus[] = [];
  let enrolledAgain = 0;
  const agent = createCrontopusAgent({
    url: URL_, stateDir, identity: Object.keys(identity).length ? identity : { enrollmentTokenFile },
    enroll: { name: 'host-1', hostname: 'host-1', platform: 'linux', version: 'cronsync/1', git_repo_url: 'https://git.test/m.git', git_branch: 'main' },
    info: { platform: 'linux', version: 'cronsync/1' }, machineId: async () => 'm-1',
    http, clock, log, random: () => 0.5, onStatus: (b) => statuses.push(b), onEnrolled: () => void enrolledAgain++,
  });
  return { stateDir, http, clock, log, statuses, agent, enrolledAgain: () => enrolledAgain };
}

describe('crontopus/client', () => {
  it('enrolls once, stores the identity 0600, heartbeats at start and every 30 s, sends job instances when changed or every 5 min', async () => {
    const t = setup();

    t.agent.start();
    await flush();
    t.agent.afterSync(instances);
    await flush();
    t.agent.afterSync(instances);
    await t.clock.advance(30_000);
    await t.clock.advance(5 * 60_000);
    await t.agent.stop();

    const enroll = t.http.requests[0] as HttpRequest;
    expect(enroll.headers?.authorization).toBe('Bearer cet_secret');
    expect(JSON.parse(String(enroll.body))).toEqual({ name: 'host-1', hostname: 'host-1', machine_id: 'm-1', platform: 'linux', version: 'cronsync/1', git_repo_url: 'https://git.test/m.git', git_branch: 'main' });
    expect(t.http.paths().slice(0, 4)).toEqual(['/api/endpoints/enroll', '/api/endpoints/7/heartbeat', '/api/endpoints/7/job-instances', '/api/endpoints/7/heartbeat']);
    expect(t.http.paths().filter((p) => p.endsWith('/enroll'))).toHaveLength(1);
    expect(t.http.paths().filter((p) => p.endsWith('/job-instances'))).toHaveLength(2);
    expect(JSON.parse(String(t.http.requests[1]?.body))).toEqual({ status: 'active', platform: 'linux', version: 'cronsync/1' });
    expect(JSON.parse(String(t.http.requests[2]?.body))).toEqual({ instances });
    expect(t.http.requests.slice(1).every((r) => r.headers?.authorization === 'Bearer tok-1')).toBe(true);
    expect(statSync(identityPath(t.stateDir)).mode & 0o777).toBe(0o600);
    expect(readEndpointIdentity(t.stateDir, `${URL_}/`)).toEqual({ endpointId: 7, token: 'tok-1' });
    expect(t.statuses.at(-1)).toMatchObject({ identity: 'enrolled', endpointId: 7, enrollment: { ok: true, statusCode: 201 }, heartbeat: { ok: true }, jobInstances: { ok: true, count: 1 } });
    expect(JSON.stringify([t.statuses, t.log.lines])).not.toContain('tok-1');
    expect(JSON.stringify([t.statuses, t.log.lines])).not.toContain('cet_secret');
  });

  it('survives a down backend: calls fail, are reported and made again at the next tick', async () => {
    const t = setup();
    t.http.answer = () => 'down';

    t.agent.start();
    t.agent.afterSync(instances);
    await flush();
    const down = t.agent.status();
    t.http.answer = (path) => (path.endsWith('/enroll') ? { status: 201, body: '{"endpoint_id": 3, "token": "t"}' } : { status: 200 });
    await t.clock.advance(33_000);
    await t.agent.stop();

    expect(down).toMatchObject({ endpointId: null, enrollment: { ok: false, error: 'ECONNREFUSED' }, heartbeat: { ok: false } });
    expect(t.agent.status()).toMatchObject({ endpointId: 3, heartbeat: { ok: true }, jobInstances: { ok: true } });
  });

  it('a job-instance set the backend refuses (422) is not sent again at every tick: only once it changes, or after 5 min', async () => {
    const t = setup();
    t.http.answer = (path) => (path.endsWith('/enroll') ? { status: 201, body: '{"agent_id": 7, "token": "t"}' } : path.endsWith('/job-instances') ? { status: 422 } : { status: 200 });
    const posts = (): number => t.http.paths().filter((p) => p.endsWith('/job-instances')).length;

    t.agent.start();
    t.agent.afterSync(instances);
    await flush();
    await t.clock.advance(4 * 30_000);
    const whileRefused = posts();
    const status = t.agent.status().jobInstances;
    t.agent.afterSync([...instances, { ...instances[0]!, job_name: 'other' }]);
    await flush();
    const changed = posts();
    await t.clock.advance(5 * 60_000);
    await t.agent.stop();

    expect(whileRefused).toBe(1);
    expect(status).toMatchObject({ ok: false, statusCode: 422 });
    expect(changed).toBe(2);
    expect(posts()).toBe(3);
  });

  it('a set refused by one endpoint is sent at once to the new endpoint after enrolling again', async () => {
    const t = setup();
    let endpoint = 7;
    t.http.answer = (path) => path.endsWith('/enroll') ? { status: 201, body: JSON.stringify({ agent_id: endpoint, token: `tok-${endpoint}` }) }
      : path === '/api/endpoints/7/job-instances' ? { status: 403 } : path === '/api/endpoints/7/heartbeat' && endpoint === 8 ? { status: 401 } : { status: 200 };

    t.agent.start();
    t.agent.afterSync(instances);
    await flush();
    endpoint = 8;
    await t.clock.advance(30_000);
    await t.agent.stop();

    expect(t.http.paths()).toContain('/api/endpoints/8/job-instances');
    expect(t.http.paths().filter((p) => p === '/api/endpoints/7/job-instances')).toHaveLength(1);
  });

  it.each([408, 429, 503])('a set answered %i is sent again at the next tick', async (code) => {
    const t = setup();
    t.http.answer = (path) => (path.endsWith('/enroll') ? { status: 201, body: '{"agent_id": 7, "token": "t"}' } : path.endsWith('/job-instances') ? { status: code } : { status: 200 });

    t.agent.start();
    t.agent.afterSync(instances);
    await flush();
    await t.clock.advance(2 * 30_000);
    await t.agent.stop();

    expect(t.http.paths().filter((p) => p.endsWith('/job-instances')).length).toBeGreaterThanOrEqual(3);
  });

  it('enrolls again with the same machine id when a call gets 401, and retries the call once', async () => {
    const t = setup();
    t.agent.start();
    await flush();
    t.http.answer = (path, req) => (path.endsWith('/enroll') ? { status: 201, body: JSON.stringify({ agent_id: 7, token: 'tok-new' }) } : req.headers?.authorization === 'Bearer tok-1' ? { status: 401 } : { status: 200 });

    t.agent.afterSync(instances);
    await flush();
    await t.agent.stop();

    const enrolls = t.http.requests.filter((r) => r.url.endsWith('/enroll')).map((r) => JSON.parse(String(r.body)).machine_id);
    expect(enrolls).toEqual(['m-1', 'm-1']);
    expect(t.http.requests.at(-1)?.headers?.authorization).toBe('Bearer tok-new');
    expect(t.agent.status().jobInstances).toMatchObject({ ok: true });
    expect(t.enrolledAgain()).toBe(1);
  });

  it('enrolls again once per token refused for a check-in', async () => {
    const t = setup();
    t.agent.start();
    await flush();

    t.agent.tokenRefused();
    t.agent.tokenRefused();
    await flush();
    await t.agent.stop();

    expect(t.http.paths().filter((p) => p.endsWith('/enroll'))).toHaveLength(2);
    expect(readEndpointIdentity(t.stateDir, URL_)?.token).toBe('tok-2');
    expect(t.enrolledAgain()).toBe(1);
  });

  it('pre-provisioned: records the token file (not the token) for exec and never enrolls', async () => {
    const t = setup({ endpointId: 12, tokenFile: '' });
    const tokenFile = join(t.stateDir, 'endpoint-token');
    writeFileSync(tokenFile, 'pre-token\n', { mode: 0o600 });
    const p = createCrontopusAgent({
      url: URL_, stateDir: t.stateDir, identity: { endpointId: 12, tokenFile }, enroll: { name: 'h', hostname: 'h', platform: 'linux', version: 'v', git_repo_url: '', git_branch: 'main' },
      info: { platform: 'linux', version: 'v' }, machineId: async () => null, http: t.http, clock: t.clock, log: t.log,
    });

    p.start();
    await flush();
    await p.stop();

    expect(t.http.paths()).toEqual(['/api/endpoints/12/heartbeat']);
    expect(t.http.requests[0]?.headers?.authorization).toBe('Bearer pre-token');
    expect(readFileSync(identityPath(t.stateDir), 'utf8')).not.toContain('pre-token');
    expect(readEndpointIdentity(t.stateDir, URL_)).toEqual({ endpointId: 12, token: 'pre-token' });
    expect(p.status()).toMatchObject({ identity: 'provisioned', endpointId: 12, enrollment: null });
  });

  it('a backend that refuses every endpoint token gets a new enrollment about once an hour, not at every heartbeat', async () => {
    const t = setup();
    t.http.answer = (path) => (path.endsWith('/enroll') ? { status: 201, body: JSON.stringify({ agent_id: 7, token: `tok-${++t.http.tokens}` }) } : { status: 401 });

    t.agent.start();
    await flush();
    await t.clock.advance(3 * 60 * 60_000);
    const refused = t.agent.status();
    const enrollsWhileRefused = t.http.paths().filter((p) => p.endsWith('/enroll')).length;
    const heartbeats = t.http.paths().filter((p) => p.endsWith('/heartbeat')).length;
    // The backend takes tokens again: the next allowed enrollment makes the endpoint work, and
    // a later refused token is replaced at once.
    t.http.answer = (path, req) => (path.endsWith('/enroll') ? { status: 201, body: JSON.stringify({ agent_id: 7, token: `tok-${++t.http.tokens}` }) } : req.headers?.authorization === `Bearer tok-${t.http.tokens}` ? { status: 200 } : { status: 401 });
    await t.clock.advance(61 * 60_000);
    const healthy = t.agent.status();
    const before = t.http.paths().filter((p) => p.endsWith('/enroll')).length;
    t.http.tokens++;
    await t.clock.advance(30_000);
    await t.agent.stop();

    // 1, 2, 4, ... 60 minutes apart: 9 in 3 hours, against 360 heartbeats' worth.
    expect(heartbeats).toBeGreaterThan(300);
    expect(enrollsWhileRefused).toBeGreaterThanOrEqual(5);
    expect(enrollsWhileRefused).toBeLessThanOrEqual(10);
    expect(refused.heartbeat).toMatchObject({ ok: false, statusCode: 401 });
    expect(refused.heartbeat?.error).toMatch(/^HTTP 401; enrolling again after \S+: the backend refused the tokens of the last \d+ enrollment/);
    expect(healthy.heartbeat).toMatchObject({ ok: true });
    expect(t.http.paths().filter((p) => p.endsWith('/enroll')).length).toBe(before + 1);
    expect(t.agent.status().heartbeat).toMatchObject({ ok: true });
  });

  it('refuses an enrollment reply whose token cannot be sent, says why, and does not enroll again at every tick', async () => {
    const t = setup();
    t.http.answer = (path) => (path.endsWith('/enroll') ? { status: 201, body: JSON.stringify({ agent_id: 7, token: 'tok\r\nX-Injected: 1' }) } : { status: 200 });

    t.agent.start();
    await flush();
    await t.clock.advance(50_000);
    await t.agent.stop();

    expect(t.agent.status()).toMatchObject({ endpointId: null, enrollment: { ok: false, statusCode: 201, error: 'enrollment reply without an endpoint id and a usable token' }, heartbeat: { ok: false } });
    expect(t.http.paths()).toEqual(['/api/endpoints/enroll']);
    expect(readEndpointIdentity(t.stateDir, URL_)).toBeNull();
  });

  it('enrolls anew when the stored token cannot be sent (written by an older version)', async () => {
    const t = setup();
    writeStoredIdentity(t.stateDir, { version: 1, url: URL_, endpointId: 7, token: 'old\ntoken', machineId: 'm-0' });

    expect(readEndpointIdentity(t.stateDir, URL_)).toBeNull();
    t.agent.start();
    await flush();
    await t.agent.stop();

    expect(t.http.paths().slice(0, 2)).toEqual(['/api/endpoints/enroll', '/api/endpoints/7/heartbeat']);
    expect(JSON.parse(String(t.http.requests[0]?.body)).machine_id).toBe('m-0');
    expect(t.http.requests[1]?.headers?.authorization).toBe('Bearer tok-1');
  });

  it.runIf(process.platform !== 'win32').each([
    { name: 'readable by others', text: 'pre-token\n', mode: 0o644, error: /^token file \S+endpoint-token is readable by other users: it is accessible by group or others \(mode 644\); run chmod 600$/ },
    { name: 'with a control character', text: 'pre\x07token\n', mode: 0o600, error: /^token file \S+endpoint-token holds characters a token cannot have/ },
    { name: 'empty', text: '\n', mode: 0o600, error: /^token file \S+endpoint-token is empty$/ },
  ])('pre-provisioned: a token file $name is not used, by the daemon or exec, and the status says why', async ({ text, mode, error }) => {
    const t = setup({ endpointId: 12, tokenFile: '' });
    const tokenFile = join(t.stateDir, 'endpoint-token');
    writeFileSync(tokenFile, text, { mode });
    chmodSync(tokenFile, mode);
    const p = createCrontopusAgent({
      url: URL_, stateDir: t.stateDir, identity: { endpointId: 12, tokenFile }, enroll: { name: 'h', hostname: 'h', platform: 'linux', version: 'v', git_repo_url: '', git_branch: 'main' },
      info: { platform: 'linux', version: 'v' }, machineId: async () => null, http: t.http, clock: t.clock, log: t.log,
    });

    p.start();
    await flush();
    await p.stop();

    expect(t.http.requests).toEqual([]);
    expect(p.status().heartbeat?.error).toMatch(error);
    expect(readEndpointIdentity(t.stateDir, URL_)).toBeNull();
    expect(JSON.stringify(t.log.lines)).not.toContain('pre-token');
  });
});

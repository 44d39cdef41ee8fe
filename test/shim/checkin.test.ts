import { describe, expect, it } from 'vitest';
import { buildRequest, deliver, safeUrl } from '../../src/shim/checkin.js';
import type { CheckinPayload } from '../../src/shim/checkin.js';
import { createNodeHttpClient } from '../../src/system/http.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { memoryLog } from './fixtures.js';

const payload: CheckinPayload = {
  job_name: 'backup', tenant: 'acme', status: 'failure', started_at: '2026-01-01T00:00:00.000Z', finished_at: '2026-01-01T00:00:02.000Z',
  duration: 2, exit_code: 3, output: 'out', error_message: 'boom', agent_id: 'h1', run_id: '11111111-2222-3333-4444-555555555555', attempts: 1, commit: null,
};
const noJitter = (): number => 0.5;

describe('shim/checkin buildRequest', () => {
  it('crontopus: JSON, bearer secret, idempotency key', () => {
    const r = buildRequest({ protocol: 'crontopus', url: 'https://api.example.com/api/checkins', payload }, 's3cret', 5000);

    expect(r).toEqual({
      url: 'https://api.example.com/api/checkins', method: 'POST', timeoutMs: 5000, body: JSON.stringify(payload),
      headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret', 'idempotency-key': payload.run_id },
    });
    expect(buildRequest({ protocol: 'crontopus', url: 'u', payload: { ...payload, status: 'running' } }, undefined, 1).headers).toEqual({
      'content-type': 'application/json', 'idempotency-key': `${payload.run_id}-running`,
    });
  });

  it.each`
    status       | exit   | suffix
    ${'running'} | ${0}   | ${'/start'}
    ${'success'} | ${0}   | ${'/0'}
    ${'failure'} | ${3}   | ${'/3'}
    ${'timeout'} | ${124} | ${'/fail'}
  `('healthchecks: $status => $suffix', ({ status, exit, suffix }) => {
    const r = buildRequest({ protocol: 'healthchecks', url: 'https://hc-ping.com/', payload: { ...payload, status, exit_code: exit } }, 'pingkey', 1000);

    expect(r.url).toBe(`https://hc-ping.com/pingkey/backup${suffix}?rid=${payload.run_id}`);
    expect(r.body).toBe('out');
  });

  it('safeUrl drops credentials and the path', () => {
    expect(safeUrl('https://u:p@hc-ping.com/pingkey/job')).toBe('https://hc-ping.com');
  });
});

describe('shim/checkin deliver', () => {
  const opts = (http: FakeHttp, clock: FakeClock, budgetMs = 60_000) => ({ http, clock, log: memoryLog(), budgetMs, random: noJitter });
  const req = buildRequest({ protocol: 'crontopus', url: 'http://x/c', payload }, 's', 1000);

  it('gives up at once, without sleeping or leaking the secret, on a request that cannot be built', async () => {
    for (const [url, secret] of [['not a url', 's'], ['http://127.0.0.1:9/c', 'line\nbreak-secret']] as const) {
      const clock = new FakeClock();
      const log = memoryLog();
      const bad = buildRequest({ protocol: 'crontopus', url, payload }, secret, 1000);

      const r = await deliver(bad, { http: createNodeHttpClient(), clock, log, budgetMs: 60_000, random: noJitter, secret });

      expect(r).toMatchObject({ outcome: 'failed', tries: 1 });
      expect(clock.sleeps).toEqual([]);
      expect(log.lines.map((l) => l.msg)).toContain('Check-in cannot be sent as configured, not retried');
      expect(JSON.stringify(log.lines)).not.toContain('break-secret');
    }
  });

  it('retries 500, network errors and 408 with exponential backoff', async () => {
    const http = new FakeHttp([500, { errno: 'ECONNRESET' }, 408, 201]);
    const clock = new FakeClock();

    const r = await deliver(req, opts(http, clock));

    expect(r).toEqual({ outcome: 'delivered', tries: 4, statusCode: 201 });
    expect(clock.sleeps).toEqual([1000, 2000, 4000]);
  });

  it('honours Retry-After on 429', async () => {
    const http = new FakeHttp([{ status: 429, headers: { 'retry-after': '7' } }, 200]);
    const clock = new FakeClock();

    await deliver(req, opts(http, clock));

    expect(clock.sleeps).toEqual([7000]);
  });

  it('does not retry 422 and logs it', async () => {
    const http = new FakeHttp([{ status: 422, body: '{"detail":"duration must be int"}' }]);
    const o = opts(http, new FakeClock());

    const r = await deliver(req, o);

    expect(r).toMatchObject({ outcome: 'rejected', tries: 1, statusCode: 422 });
    expect(o.log.lines).toEqual([expect.objectContaining({ level: 'error', msg: 'Check-in rejected by the server, not retried' })]);
    expect(JSON.stringify(o.log.lines)).not.toContain('Bearer');
  });

  it('gives up when the next wait would exceed the budget', async () => {
    const http = new FakeHttp([], 503);
    const clock = new FakeClock();

    const r = await deliver(req, opts(http, clock, 10_000));

    expect(r).toMatchObject({ outcome: 'failed', tries: 4, reason: 'HTTP 503' });
    expect(clock.sleeps).toEqual([1000, 2000, 4000]);
  });
});

describe('shim/checkin secrets in rejected answers', () => {
  it('never logs a secret that a 4xx body echoes back (bearer, URL-encoded ping key, JSON-escaped)', async () => {
    const secret = 'tok/"en+1';
    const echoes = [
      `{"detail":"invalid token ${secret}"}`,
      `Cannot POST /${encodeURIComponent(secret)}/backup/3`,
      JSON.stringify({ detail: `bad key ${secret}` }),
      `{"headers":{"authorization":"Bearer ${secret}"}}`,
    ];
    for (const [i, body] of echoes.entries()) {
      const protocol = i === 1 ? 'healthchecks' : 'crontopus';
      const req = buildRequest({ protocol, url: 'http://x/c', payload }, secret, 1000);
      const log = memoryLog();

      const r = await deliver(req, { http: new FakeHttp([{ status: 401, body }]), clock: new FakeClock(), log, budgetMs: 1000, secret });

      expect(r.outcome).toBe('rejected');
      const logged = JSON.stringify(log.lines);
      expect(logged, body).toContain('[redacted]');
      for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) expect(logged, body).not.toContain(form);
    }
  });

  it('redacts the bearer token even when the caller does not name the secret', async () => {
    const req = buildRequest({ protocol: 'crontopus', url: 'http://x/c', payload }, 'hidden-token', 1000);
    const log = memoryLog();

    await deliver(req, { http: new FakeHttp([{ status: 403, body: 'token hidden-token is revoked' }]), clock: new FakeClock(), log, budgetMs: 1000 });

    expect(JSON.stringify(log.lines)).not.toContain('hidden-token');
  });
});

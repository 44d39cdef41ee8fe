import { describe, expect, it } from 'vitest';
import { DAEMON_FLUSH_POLICY } from '../../src/cli/commands/daemon.js';
import { nullLogger } from '../../src/log.js';
import { deliver } from '../../src/shim/checkin.js';
import type { FakeAnswer } from '../fakes/FakeHttp.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { FakeClock } from '../fakes/FakeClock.js';

/** One spooled check-in as the daemon's flush delivers it: 10 s budget, the daemon's policy. */
async function flushOne(script: FakeAnswer[]) {
  const http = new FakeHttp(script, 503);
  const clock = new FakeClock();

  const r = await deliver({ url: 'http://checkin.test/api', method: 'POST', body: '{}' }, {
    http, clock, log: nullLogger, budgetMs: 10_000, policy: DAEMON_FLUSH_POLICY, random: () => 0.5,
  });

  return { r, requests: http.requests.length, sleeps: clock.sleeps };
}

describe('cli/commands/daemon flush policy (fleet)', () => {
  it.each`
    name                             | script                                          | outcome        | requests | sleeps
    ${'503: no retry in the cycle'}  | ${[503]}                                        | ${'failed'}    | ${1}     | ${[]}
    ${'reset: no retry in the cycle'} | ${[{ errno: 'ECONNRESET' }]}                   | ${'failed'}    | ${1}     | ${[]}
    ${'503 with Retry-After: none'}  | ${[{ status: 503, headers: { 'retry-after': '2' } }, 200]} | ${'failed'} | ${1} | ${[]}
    ${'up: delivered at once'}       | ${[200]}                                        | ${'delivered'} | ${1}     | ${[]}
  `('$name', async ({ script, outcome, requests, sleeps }) => {
    const got = await flushOne(script as FakeAnswer[]);

    expect(got.r.outcome).toBe(outcome);
    expect(got.requests).toBe(requests);
    expect(got.sleeps).toEqual(sleeps);
  });
});

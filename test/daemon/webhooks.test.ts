import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { HttpReply, HttpRequest } from '../../src/daemon/http.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import { WEBHOOK_PROVIDERS, deliveryId, verifySignature, webhookRoute } from '../../src/daemon/webhooks.js';
import type { WebhookOptions, WebhookProvider } from '../../src/daemon/webhooks.js';
import { nullLogger } from '../../src/log.js';
import { signHook } from '../fakes/webhookSigner.js';

const SECRET = 'a-long-webhook-secret-0123456789';
const BODY = Buffer.from('{"ref":"refs/heads/main","repository":{"clone_url":"https://evil.example/x.git"}}');
const hmac = (body: Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');
const signedHeaders = (p: WebhookProvider, body: Buffer, id: string, secret = SECRET) => signHook(p, body, id, secret);

function setup(over: Partial<WebhookOptions> = {}) {
  const triggers: string[] = [];
  let now = 1_000_000;
  const metrics = createMetrics({ processMetrics: false });
  const route = webhookRoute({ secret: SECRET, trigger: (r) => triggers.push(r), log: nullLogger, nowMs: () => now, metrics, ...over });
  async function call(provider: string, headers: IncomingHttpHeaders, body = BODY, method = 'POST'): Promise<HttpReply> {
    const head = { method, path: `/hooks/${provider}`, headers, remoteAddress: '127.0.0.1' };
    const early = route.precheck?.(head);
    if (early) return early;
    return route.handle({ ...head, body } satisfies HttpRequest);
  }
  return { route, call, triggers, metrics, tick: (ms: number) => (now += ms) };
}

describe('daemon/webhooks', () => {
  describe.each(WEBHOOK_PROVIDERS.map((p) => [p]))('%s', (provider) => {
    it('accepts a valid signature and only triggers a sync', async () => {
      const { call, triggers } = setup();

      const reply = await call(provider, signedHeaders(provider, BODY, 'd-1'));

      expect(reply.status).toBe(202);
      expect(triggers).toEqual([`webhook:${provider}`]);
    });

    it('rejects an invalid signature (wrong secret) with 401', async () => {
      const { call, triggers } = setup();

      const reply = await call(provider, signedHeaders(provider, BODY, 'd-1', 'another-secret-0123456789'));

      expect(reply.status).toBe(401);
      expect(triggers).toEqual([]);
    });

    it('rejects a signature over another body', async () => {
      const { call, triggers } = setup();
      const headers = signedHeaders(provider, BODY, 'd-1');

      const reply = await call(provider, headers, Buffer.from('{"ref":"refs/heads/evil"}'));

      // GitLab sends a token, not a body signature, so only it accepts a changed body.
      expect(reply.status).toBe(provider === 'gitlab' ? 202 : 401);
      expect(triggers.length).toBe(provider === 'gitlab' ? 1 : 0);
    });

    it('rejects a missing signature with 401', async () => {
      const { call, triggers } = setup();
      const headers = signedHeaders(provider, BODY, 'd-1');
      const unsigned = Object.fromEntries(Object.entries(headers).filter(([k]) => !/signature|token/.test(k)));

      const reply = await call(provider, unsigned);

      expect(reply.status).toBe(401);
      expect(triggers).toEqual([]);
    });

    it('ignores a replayed delivery id (200 duplicate, no second trigger)', async () => {
      const { call, triggers } = setup();
      const headers = signedHeaders(provider, BODY, 'd-1');

      const first = await call(provider, headers);
      const replay = await call(provider, headers);
      const next = await call(provider, signedHeaders(provider, BODY, 'd-2'));

      expect([first.status, replay.status, next.status]).toEqual([202, 200, 202]);
      expect(JSON.parse(replay.body)).toEqual({ status: 'duplicate' });
      expect(triggers).toHaveLength(2);
    });

    it('rejects everything when no secret is configured', async () => {
      const { call, triggers } = setup({ secret: null });

      const reply = await call(provider, signedHeaders(provider, BODY, 'd-1', ''));

      expect(reply.status).toBe(403);
      expect(triggers).toEqual([]);
    });
  });

  it.each([
    ['uppercase hex', (h: string) => `sha256=${h.toUpperCase()}`, true],
    ['sha1 prefix', (h: string) => `sha1=${h}`, false],
    ['truncated', (h: string) => `sha256=${h.slice(0, 63)}`, false],
    ['non-hex', (_h: string) => `sha256=${'z'.repeat(64)}`, false],
    ['empty', () => '', false],
    ['prefix only', () => 'sha256=', false],
  ])('github signature %s → %s', (_name, make, want) => {
    expect(verifySignature('github', { 'x-hub-signature-256': make(hmac(BODY)) }, BODY, SECRET)).toBe(want);
  });

  it('treats a repeated signature header as missing', () => {
    expect(verifySignature('github', { 'x-hub-signature-256': [`sha256=${hmac(BODY)}`, `sha256=${hmac(BODY)}`] } as unknown as IncomingHttpHeaders, BODY, SECRET)).toBe(false);
  });

  it('never verifies against an empty secret', () => {
    expect(verifySignature('gitlab', { 'x-gitlab-token': '' }, BODY, '')).toBe(false);
  });

  it('uses X-Request-UUID (not the per-hook X-Hook-UUID) for bitbucket delivery ids', () => {
    expect(deliveryId('bitbucket', { 'x-hook-uuid': 'hook', 'x-request-uuid': 'req-1' })).toBe('req-1');
    expect(deliveryId('bitbucket', { 'x-hook-uuid': 'hook' })).toBeNull();
  });

  it('accepts calls without a delivery id, without de-duplication', async () => {
    const { call, triggers } = setup();
    const headers = { 'x-signature': `sha256=${hmac(BODY)}` };

    await call('generic', headers);
    await call('generic', headers);

    expect(triggers).toHaveLength(2);
  });

  it('forgets the oldest delivery ids beyond dedupeSize', async () => {
    const { call, triggers } = setup({ dedupeSize: 2, rateLimit: { burst: 100, perMinute: 60 } });

    for (const id of ['a', 'b', 'c', 'a']) await call('github', signedHeaders('github', BODY, id));

    expect(triggers).toHaveLength(4);
  });

  it('rate-limits with a token bucket (429 + Retry-After) and refills over time', async () => {
    const { call, triggers, tick } = setup({ rateLimit: { burst: 2, perMinute: 6 } });

    const statuses = [];
    for (const id of ['1', '2', '3']) statuses.push((await call('github', signedHeaders('github', BODY, id))).status);
    const limited = await call('github', signedHeaders('github', BODY, '4'));
    tick(10_000);
    const after = await call('github', signedHeaders('github', BODY, '5'));

    expect(statuses).toEqual([202, 202, 429]);
    expect(limited.headers?.['retry-after']).toBe('10');
    expect(after.status).toBe(202);
    expect(triggers).toHaveLength(3);
  });

  it('answers 404 for an unknown provider and 405 for GET', async () => {
    const { call } = setup();

    const unknown = await call('svn', {});
    const get = await call('github', signedHeaders('github', BODY, 'x'), BODY, 'GET');

    expect([unknown.status, get.status]).toEqual([404, 405]);
  });

  it('counts outcomes in metrics', async () => {
    const { call, metrics } = setup();

    await call('github', signedHeaders('github', BODY, '1'));
    await call('github', signedHeaders('github', BODY, '1'));
    await call('gitea', {});
    await call('nope', {});

    const text = await metrics.render();
    expect(text).toContain('cronsync_webhooks_total{provider="github",outcome="accepted"} 1');
    expect(text).toContain('cronsync_webhooks_total{provider="github",outcome="duplicate"} 1');
    expect(text).toContain('cronsync_webhooks_total{provider="gitea",outcome="invalid-signature"} 1');
    expect(text).toContain('cronsync_webhooks_total{provider="unknown",outcome="unknown-provider"} 1');
  });

  it('takes nothing from the payload: the trigger reason names only the provider', async () => {
    const { call, triggers } = setup();

    await call('github', signedHeaders('github', BODY, 'x'));

    expect(triggers.join()).not.toContain('evil');
  });
});

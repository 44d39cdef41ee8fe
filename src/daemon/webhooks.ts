/**
 * Push webhooks: `POST /hooks/{provider}`. A call is accepted only with a valid signature
 * (compared in constant time) under the configured secret; an accepted call only triggers a
 * normal sync. Nothing is taken from the payload: a forged or replayed body can at most make
 * the agent poll its configured source early, and the rate limit bounds even that.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../log.js';
import type { HttpReply, HttpRequest, HttpRoute } from './http.js';
import { DEFAULT_MAX_BODY_BYTES, json } from './http.js';
import type { Metrics } from './metrics.js';
import { BoundedSet, TokenBucket } from './limits.js';

/** The Git hosts whose webhooks are understood. */
export const WEBHOOK_PROVIDERS = ['github', 'gitlab', 'gitea', 'forgejo', 'bitbucket', 'generic'] as const;

/** WebhookProvider is one of {@link WEBHOOK_PROVIDERS}. */
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

type Scheme = { kind: 'hmac'; header: string; prefix: string } | { kind: 'token'; header: string };

/** How each provider signs, and the header carrying its delivery id. */
const SCHEMES: Record<WebhookProvider, { sig: Scheme; delivery: readonly string[] }> = {
  github: { sig: { kind: 'hmac', header: 'x-hub-signature-256', prefix: 'sha256=' }, delivery: ['x-github-delivery'] },
  gitlab: { sig: { kind: 'token', header: 'x-gitlab-token' }, delivery: ['x-gitlab-event-uuid'] },
  gitea: { sig: { kind: 'hmac', header: 'x-gitea-signature', prefix: '' }, delivery: ['x-gitea-delivery'] },
  forgejo: { sig: { kind: 'hmac', header: 'x-forgejo-signature', prefix: '' }, delivery: ['x-forgejo-delivery'] },
  // X-Hook-UUID names the webhook, not the delivery: it is the same on every call, so never a dedupe key.
  bitbucket: { sig: { kind: 'hmac', header: 'x-hub-signature', prefix: 'sha256=' }, delivery: ['x-request-uuid', 'x-request-id'] },
  generic: { sig: { kind: 'hmac', header: 'x-signature', prefix: 'sha256=' }, delivery: ['x-delivery'] },
};

/** Tells whether `name` is a supported provider. */
export function isWebhookProvider(name: string): name is WebhookProvider {
  return (WEBHOOK_PROVIDERS as readonly string[]).includes(name);
}

/** A header as one string; repeated headers are ambiguous and count as absent. */
function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return typeof v === 'string' ? v : null;
}

/** Constant-time equality of two secrets of any lengths (compares their SHA-256). */
function safeEqualText(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Pure: is the request signed with `secret` the way `provider` signs? Constant time. */
export function verifySignature(provider: WebhookProvider, headers: IncomingHttpHeaders, body: Buffer, secret: string): boolean {
  if (secret === '') return false;
  const scheme = SCHEMES[provider].sig;
  const value = header(headers, scheme.header);
  if (value === null) return false;
  if (scheme.kind === 'token') return safeEqualText(value, secret);
  const sent = value.trim();
  if (!sent.toLowerCase().startsWith(scheme.prefix)) return false;
  const hex = sent.slice(scheme.prefix.length);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
}

/** Pure: the delivery id the provider sent, or null (then the call cannot be de-duplicated). */
export function deliveryId(provider: WebhookProvider, headers: IncomingHttpHeaders): string | null {
  for (const name of SCHEMES[provider].delivery) {
    const v = header(headers, name)?.trim();
    if (v && v.length <= 200) return v;
  }
  return null;
}

/** Options of {@link createWebhookHandler}. */
export interface WebhookOptions {
  /**
   * The shared secret, or a function returning the current one (read per call, so a reload can
   * rotate it); null or '' rejects every call. Load it with loadWebhookSecret.
   */
  secret: string | null | (() => string | null);
  /** Asks the loop for a sync (DaemonLoop.trigger). */
  trigger(reason: string): void;
  log: Logger;
  /** Milliseconds, monotonic enough for the rate limit; default Date.now. */
  nowMs?: () => number;
  /** Token bucket over all calls: `burst` at once, refilled at `perMinute`; default 10 and 30. */
  rateLimit?: { burst: number; perMinute: number };
  /** Delivery ids remembered; default 1000. */
  dedupeSize?: number;
  metrics?: Pick<Metrics, 'webhook'>;
}

/** The path prefix of webhook routes. */
export const HOOKS_PREFIX = '/hooks/';

/** Creates the `/hooks/*` route. */
export function webhookRoute(opts: WebhookOptions): HttpRoute {
  const nowMs = opts.nowMs ?? Date.now;
  const limit = opts.rateLimit ?? { burst: 10, perMinute: 30 };
  const bucket = new TokenBucket(limit.burst, limit.perMinute / 60_000, nowMs());
  const seen = new BoundedSet<string>(opts.dedupeSize ?? 1000);
  const currentSecret = (): string => (typeof opts.secret === 'function' ? opts.secret() : opts.secret) ?? '';

  const reject = (provider: string, status: number, outcome: string, extra: Record<string, string> = {}): HttpReply => {
    opts.metrics?.webhook(provider, outcome);
    return json(status, { status: outcome }, extra);
  };

  return {
    matches: (path) => path.startsWith(HOOKS_PREFIX),
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    precheck(req) {
      const provider = req.path.slice(HOOKS_PREFIX.length);
      if (!isWebhookProvider(provider)) return reject(provider, 404, 'unknown-provider');
      if (req.method !== 'POST') return reject(provider, 405, 'method-not-allowed', { allow: 'POST' });
      if (currentSecret() === '') return reject(provider, 403, 'disabled');
      if (!bucket.take(nowMs())) {
        opts.log.warn({ provider, remoteAddress: req.remoteAddress }, 'Webhook rate limited');
        return reject(provider, 429, 'rate-limited', { 'retry-after': String(Math.ceil(bucket.msUntilNext(nowMs()) / 1000)) });
      }
      return null;
    },
    handle(req: HttpRequest) {
      const provider = req.path.slice(HOOKS_PREFIX.length) as WebhookProvider;
      if (!verifySignature(provider, req.headers, req.body, currentSecret())) {
        opts.log.warn({ provider, remoteAddress: req.remoteAddress }, 'Webhook signature invalid');
        return reject(provider, 401, 'invalid-signature');
      }
      // Only ids of valid calls are remembered, so forged calls cannot evict or pre-empt real ones.
      const id = deliveryId(provider, req.headers);
      if (id !== null) {
        const key = `${provider}:${id}`;
        if (seen.has(key)) {
          opts.log.info({ provider, deliveryId: id }, 'Webhook replay ignored');
          return reject(provider, 200, 'duplicate');
        }
        seen.add(key);
      }
      opts.log.info({ provider, deliveryId: id }, 'Webhook accepted, sync triggered');
      opts.trigger(`webhook:${provider}`);
      opts.metrics?.webhook(provider, 'accepted');
      return json(202, { status: 'accepted' });
    },
  };
}

/**
 * Check-ins: builds Crontopus (legacy and agent API) or healthchecks.io requests and delivers
 * them with retries.
 * Depends only on the HttpClient and Clock ports.
 */
import type { Clock } from '../system/clock.js';
import type { HttpClient, HttpRequest } from '../system/http.js';
import { HttpTransportError } from '../system/http.js';
import { CHECKIN_BACKOFF, isRetryableError, isRetryableStatus, nextDelay, parseRetryAfter } from './retry.js';
import type { BackoffPolicy } from './retry.js';
import type { Logger } from './types.js';

/**
 * The text that replaces a secret, in check-in messages and in every log (src/log.ts re-exports
 * it). Defined here, not in the logger, because `cronsync exec` must not load pino.
 */
export const REDACTED = '[redacted]';

/** Status a check-in reports. */
export type CheckinStatus = 'running' | 'success' | 'failure' | 'timeout' | 'cancelled';

/** CheckinPayload is the Crontopus check-in body (SPEC §6). Final-only fields are absent on `running`. */
export interface CheckinPayload {
  job_name: string;
  tenant: string;
  status: CheckinStatus;
  started_at: string;
  finished_at?: string;
  /** Whole seconds: the API rejects floats. */
  duration?: number;
  exit_code?: number;
  output?: string;
  error_message?: string | null;
  agent_id: string;
  run_id: string;
  attempts: number;
  commit: string | null;
}

/** Check-in protocol of the agent configuration. */
export type CheckinProtocol = 'crontopus' | 'healthchecks' | 'crontopus-agent';

/** Checkin is one check-in to deliver, without the secret (it is added by {@link buildRequest}). */
export interface Checkin {
  protocol: CheckinProtocol;
  /** crontopus-agent: the backend's base URL. */
  url: string;
  payload: CheckinPayload;
  /** crontopus-agent: the job's namespace (first directory of its manifest path). */
  namespace?: string;
}

/**
 * The body of `POST /api/runs/check-in`, the Crontopus agent route. The backend ignores
 * unknown fields; `run_id` is ours, for our own logs and the spool.
 */
export interface AgentCheckinBody {
  endpoint_id: number;
  job_name: string;
  namespace: string;
  status: CheckinStatus;
  exit_code: number | null;
  /** Whole seconds. */
  duration: number | null;
  /** At most 10,000 characters (the backend's limit). */
  output: string | null;
  /** The last 500 characters on failure, as the Crontopus agent sends. */
  error_message: string | null;
  run_id: string;
}

/** The agent-route body of a final check-in. Pure. */
export function agentCheckinBody(c: Checkin, endpointId: number): AgentCheckinBody {
  const p = c.payload;
  return {
    endpoint_id: endpointId, job_name: p.job_name, namespace: c.namespace ?? 'default', status: p.status,
    exit_code: p.exit_code ?? null, duration: p.duration ?? null, output: p.output ?? null,
    error_message: p.status === 'success' ? null : p.error_message ?? null, run_id: p.run_id,
  };
}

/**
 * Builds the HTTP request of a check-in. Pure.
 * - crontopus: POST `url`, JSON body, `Authorization: Bearer <secret>`, `Idempotency-Key: <run_id>`
 *   (`<run_id>-running` for the start check-in, so the final one is not taken for a duplicate).
 * - healthchecks: POST `<url>[/<secret>]/<job_name>[/start|/fail|/<exit_code>]?rid=<run_id>`,
 *   the output as a text body; the secret, when set, is the project's ping key.
 * - crontopus-agent: POST `<url>/api/runs/check-in`, {@link agentCheckinBody}, the endpoint token
 *   as `secret` and the endpoint id as `endpointId` (both read at send time, never stored).
 */
export function buildRequest(c: Checkin, secret: string | undefined, timeoutMs: number, endpointId?: number): HttpRequest {
  const p = c.payload;
  if (c.protocol === 'crontopus-agent') {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': p.run_id };
    if (secret) headers.authorization = `Bearer ${secret}`;
    return { url: `${c.url.replace(/\/+$/, '')}/api/runs/check-in`, method: 'POST', headers, body: JSON.stringify(agentCheckinBody(c, endpointId ?? 0)), timeoutMs };
  }
  if (c.protocol === 'healthchecks') {
    const base = c.url.replace(/\/+$/, '');
    const key = secret ? `/${encodeURIComponent(secret)}` : '';
    const suffix = p.status === 'running' ? '/start' : p.status === 'success' || p.status === 'failure' ? `/${p.exit_code ?? 1}` : '/fail';
    return {
      url: `${base}${key}/${encodeURIComponent(p.job_name)}${suffix}?rid=${encodeURIComponent(p.run_id)}`,
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: p.output ?? '',
      timeoutMs,
    };
  }
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': p.status === 'running' ? `${p.run_id}-running` : p.run_id,
  };
  if (secret) headers.authorization = `Bearer ${secret}`;
  return { url: c.url, method: 'POST', headers, body: JSON.stringify(p), timeoutMs };
}

/** Result of {@link deliver}: `rejected` = a final 4xx answer; `failed` = retries exhausted. */
export interface DeliveryResult {
  outcome: 'delivered' | 'rejected' | 'failed';
  tries: number;
  statusCode?: number;
  reason?: string;
  /** `failed` because the request cannot be sent as built (a bad URL or header value): it says nothing of the server. */
  unsendable?: true;
}

/** Options of {@link deliver}. */
export interface DeliverOptions {
  http: HttpClient;
  clock: Clock;
  log: Logger;
  /** Total time allowed, including waits; a retry that would end after it is not made. */
  budgetMs: number;
  policy?: BackoffPolicy;
  random?: () => number;
  signal?: AbortSignal;
  /** Log fields (never the secret). */
  fields?: Record<string, unknown>;
  /** The check-in secret, cut out of anything logged (a 4xx body may echo it back). */
  secret?: string;
  /**
   * Final statuses that leave the check-in for later instead of rejecting it (outcome `failed`
   * at once, no retry): a Crontopus 401 means the endpoint token is being replaced.
   */
  deferStatuses?: readonly number[];
}

/** Sends a request, retrying network errors, 408, 429 (after Retry-After) and 5xx within a budget. */
export async function deliver(req: HttpRequest, o: DeliverOptions): Promise<DeliveryResult> {
  const start = o.clock.now().getTime();
  const fields = { ...o.fields, url: safeUrl(req.url) };
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers?.authorization ?? '')?.[1];
  const hidden = [o.secret, bearer].filter((s): s is string => !!s);
  for (let tries = 1; ; tries++) {
    let retryAfter: number | undefined;
    let reason: string;
    let statusCode: number | undefined;
    try {
      const res = await o.http.request({ ...req, signal: o.signal });
      statusCode = res.statusCode;
      if (res.statusCode >= 200 && res.statusCode < 300) return { outcome: 'delivered', tries, statusCode };
      reason = `HTTP ${res.statusCode}`;
      if (o.deferStatuses?.includes(res.statusCode)) {
        o.log.warn({ ...fields, statusCode }, 'Check-in refused for now, kept for later');
        return { outcome: 'failed', tries, statusCode, reason };
      }
      if (!isRetryableStatus(res.statusCode)) {
        o.log.error({ ...fields, statusCode, body: redact(res.body, hidden).slice(0, 500) }, 'Check-in rejected by the server, not retried');
        return { outcome: 'rejected', tries, statusCode, reason };
      }
      if (res.statusCode === 429 || res.statusCode === 503) retryAfter = parseRetryAfter(res.headers['retry-after'], o.clock.now());
    } catch (err) {
      reason = err instanceof HttpTransportError ? err.errno : redact(String((err as Error)?.message ?? err), hidden);
      // A request that cannot even be built (bad URL, a secret with a line break in a header)
      // fails the same way every time: spool it at once instead of retrying for the budget.
      if (!(err instanceof HttpTransportError) || !isRetryableError(err.errno)) {
        o.log.error({ ...fields, reason }, 'Check-in cannot be sent as configured, not retried');
        return { outcome: 'failed', tries, reason, unsendable: true };
      }
    }
    const delay = nextDelay(tries, o.policy ?? CHECKIN_BACKOFF, retryAfter, o.random);
    const elapsed = o.clock.now().getTime() - start;
    if (o.signal?.aborted || elapsed + delay >= o.budgetMs) {
      o.log.warn({ ...fields, tries, reason, statusCode }, 'Check-in not delivered within its budget');
      return { outcome: 'failed', tries, statusCode, reason };
    }
    o.log.debug({ ...fields, tries, reason, delayMs: delay }, 'Check-in failed, retrying');
    try {
      await o.clock.sleep(delay, o.signal);
    } catch {
      return { outcome: 'failed', tries, statusCode, reason };
    }
  }
}

/**
 * `text` with every occurrence of each secret replaced by {@link REDACTED}, in the forms a server
 * may echo it back: as sent, URL-encoded (a healthchecks ping key) and JSON-escaped. Pure.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    const forms = new Set([s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1), JSON.stringify(JSON.stringify(s).slice(1, -1)).slice(1, -1)]);
    // Longest first, so that no part of a longer form survives a shorter one's replacement.
    for (const f of [...forms].sort((a, b) => b.length - a.length)) if (f) out = out.split(f).join(REDACTED);
  }
  return out;
}

/** A URL fit for logs: no credentials, no path (healthchecks paths hold the ping key). */
export function safeUrl(url: string): string {
  try {
    // host excludes any user:password@.
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '<invalid url>';
  }
}

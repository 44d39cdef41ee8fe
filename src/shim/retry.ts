/**
 * Backoff arithmetic, pure: job retries (`spec.retry`) and check-in retries share one formula,
 * `min(base * factor^(n-1), max)` with jitter, like undici's RetryHandler.
 */
import type { RetryPolicy } from '../manifest/types.js';
import { parseDuration } from './duration.js';

/** BackoffPolicy is a resolved backoff: base and cap in ms, growth factor, jitter fraction. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** 1 = fixed, 2 = exponential. */
  factor: number;
  /** Relative spread: 0.2 => the delay varies by ±20%. */
  jitter: number;
}

/**
 * Delay before retry number `retry` (1 = the first retry). A server's Retry-After can only
 * lengthen it: a longer one wins over the formula (it is not jittered, and is capped only by
 * the caller's budget), while `Retry-After: 0` or a date in the past keeps the normal backoff,
 * so such a server is not hammered for the whole budget.
 */
export function nextDelay(retry: number, policy: BackoffPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.baseMs * policy.factor ** Math.max(0, retry - 1), policy.maxMs);
  const spread = raw * policy.jitter * (random() * 2 - 1);
  const backoff = Math.max(0, Math.round(Math.min(raw + spread, policy.maxMs)));
  return retryAfterMs !== undefined && retryAfterMs > backoff ? retryAfterMs : backoff;
}

/** Jitter of job retries: ±10%, so that many agents failing together do not retry in lockstep. */
export const JOB_RETRY_JITTER = 0.1;

/** Turns a manifest retry policy into a BackoffPolicy. @throws {ConfigError} on a bad duration. */
export function jobBackoff(retry: RetryPolicy): BackoffPolicy {
  return {
    baseMs: parseDuration(retry.delay ?? '10s'),
    maxMs: parseDuration(retry.maxDelay ?? '5m'),
    factor: retry.backoff === 'exponential' ? 2 : 1,
    jitter: JOB_RETRY_JITTER,
  };
}

/** Number of attempts a policy allows: 1 + retries when enabled. */
export function maxAttempts(retry: RetryPolicy | undefined): number {
  return retry?.enabled ? 1 + Math.max(0, Math.floor(retry.attempts)) : 1;
}

/** Check-in backoff: 1s, 2s, 4s … capped at 30s, ±20%. */
export const CHECKIN_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** HTTP statuses worth retrying: 408, 429 and every 5xx. Other 4xx are final. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Error codes of requests that can never be sent as built (Node's and undici's): bad URL, bad header. */
const UNSENDABLE = new Set(['ERR_INVALID_URL', 'ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_UNESCAPED_CHARACTERS', 'ERR_INVALID_PROTOCOL', 'UND_ERR_INVALID_ARG']);

/** Transport errors worth retrying: all but those of a request that can never be sent as built. */
export function isRetryableError(code: string): boolean {
  return !UNSENDABLE.has(code);
}

/** Parses Retry-After (delta seconds or HTTP date) into ms from `now`; undefined when absent or invalid. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now.getTime());
}

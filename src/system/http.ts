/**
 * HTTP port. `HttpClient` is the isomorphic-git-like shape every caller depends on; the two
 * implementations here are the only code that opens sockets.
 *
 * - {@link createUndiciHttpClient}: undici (keep-alive pool), for the long-running daemon.
 * - {@link createNodeHttpClient}: `node:http`/`node:https`, for `cronsync exec`, where loading
 *   undici would cost more start-up time (~100 ms) than the whole run of a short job.
 */
import { CronsyncError } from '../errors.js';
import { timerMs } from './clock.js';

/** One HTTP request. `timeoutMs` bounds the whole exchange (connect, headers, body). */
export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A complete HTTP response; header names are lower-case. */
export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** HttpClient sends one request and resolves with any status; it rejects only on transport errors. */
export interface HttpClient {
  /** @throws {HttpTransportError} on network errors and timeouts. */
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Optional hint that a request will follow soon (e.g. load modules while a job runs). */
  warmUp?(url: string): void;
}

/** HttpTransportError is a request that got no HTTP response (refused, reset, timeout, DNS). */
export class HttpTransportError extends CronsyncError {
  static override readonly code = 'CRONSYNC_IO' as const;
  /** The system or undici error code, e.g. `ECONNRESET`, `ETIMEDOUT`. */
  readonly errno: string;
  constructor(errno: string, message: string, options?: { cause?: unknown }) {
    super(HttpTransportError.code, message, { errno }, options);
    this.errno = errno;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_BODY = 1 << 20;

/**
 * Collects a response body up to MAX_BODY bytes. `add` is true once that many were seen: a
 * server that sends more (or never stops) is then cut off, not buffered until the timeout.
 */
function bodyCollector(): { add(chunk: Buffer): boolean; text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    add(chunk) {
      chunks.push(size + chunk.length > MAX_BODY ? chunk.subarray(0, MAX_BODY - size) : chunk);
      size += chunk.length;
      return size >= MAX_BODY;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

function toTransportError(err: unknown, timedOut: boolean): HttpTransportError {
  if (err instanceof HttpTransportError) return err;
  const code = timedOut ? 'ETIMEDOUT' : ((err as { code?: string })?.code ?? 'EUNKNOWN');
  const msg = timedOut ? 'request timed out' : ((err as Error)?.message ?? String(err));
  return new HttpTransportError(code, `HTTP request failed: ${msg}`, { cause: err });
}

/** Creates an HttpClient on `node:http`/`node:https` (loaded on first use). */
export function createNodeHttpClient(): HttpClient {
  return {
    warmUp(url) {
      void (url.startsWith('https:') ? import('node:https') : import('node:http')).catch(() => undefined);
    },
    async request(req) {
      const url = new URL(req.url);
      const mod = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
      const body = req.body === undefined ? undefined : typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
      const headers: Record<string, string> = { ...req.headers };
      if (body) headers['content-length'] = String(body.byteLength);
      return new Promise<HttpResponse>((resolve, reject) => {
        let timedOut = false;
        const creq = mod.request(url, { method: req.method ?? 'GET', headers, agent: false }, (res) => {
          const body = bodyCollector();
          const done = (): void => {
            clearTimeout(timer);
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
            resolve({ statusCode: res.statusCode ?? 0, headers: h, body: body.text() });
          };
          res.on('data', (c: Buffer) => {
            if (!body.add(c)) return;
            res.removeAllListeners('data');
            done();
            res.destroy();
          });
          res.on('end', done);
          res.on('error', (err) => fail(err));
        });
        const fail = (err: unknown): void => {
          clearTimeout(timer);
          req.signal?.removeEventListener('abort', onAbort);
          reject(toTransportError(err, timedOut));
        };
        const onAbort = (): void => {
          creq.destroy(new HttpTransportError('ABORTED', 'HTTP request aborted'));
        };
        const timer = setTimeout(() => {
          timedOut = true;
          creq.destroy(new Error('timeout'));
        }, req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
        req.signal?.addEventListener('abort', onAbort, { once: true });
        if (req.signal?.aborted) onAbort();
        creq.on('error', fail);
        creq.end(body);
      });
    },
  };
}

/** Creates an HttpClient on undici (imported on first use) with a per-request timeout. */
export function createUndiciHttpClient(): HttpClient {
  return {
    async request(req) {
      const { request } = await import('undici');
      const timeout = AbortSignal.timeout(timerMs(req.timeoutMs ?? DEFAULT_TIMEOUT_MS));
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      try {
        const res = await request(req.url, {
          method: (req.method ?? 'GET') as 'GET',
          headers: req.headers,
          body: req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : Buffer.from(req.body),
          signal,
        });
        const body = bodyCollector();
        for await (const chunk of res.body) {
          if (!body.add(chunk as Buffer)) continue;
          res.body.destroy();
          break;
        }
        const text = body.text();
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
        return { statusCode: res.statusCode, headers: h, body: text };
      } catch (err) {
        throw toTransportError(err, timeout.aborted);
      }
    },
  };
}

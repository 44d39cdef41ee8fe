/**
 * Turns whatever a fetch threw into a SourceError whose kind tells the daemon what to do next,
 * with a message that names the URL without credentials and never holds a secret.
 */
import { SourceError, stripUrlCredentials } from '../errors.js';
import type { SourceErrorKind } from '../errors.js';
import { PackFormatError } from './pack.js';
import { UploadPackError } from './protocol.js';
import { TreeError } from './tree.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'EPROTO', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Context of a classification. */
export interface ClassifyContext {
  /** URL to show (credentials are stripped again anyway). */
  url: string;
  /** Secrets to scrub from any text taken from the error. */
  secrets: readonly string[];
  timeoutMs: number;
  /** True when the fetch's own timeout fired (as opposed to the caller aborting). */
  timedOut: boolean;
}

/** Scrubs URL userinfo and every secret from `text`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = stripUrlCredentials(text);
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

/** The message of a fetch that hit `source.timeout`. */
export function timeoutText(timeoutMs: number): string {
  return `timed out after ${timeoutMs} ms (source.timeout); raise source.timeout if the server is just slow`;
}

/** Returns a SourceError for `err` (returned as is when it already is one). */
export function classify(err: unknown, ctx: ClassifyContext): SourceError {
  if (err instanceof SourceError) return err;
  const url = scrub(ctx.url, ctx.secrets);
  const make = (kind: SourceErrorKind, what: string, data: Record<string, unknown> = {}): SourceError =>
    new SourceError(kind, scrub(`Git source ${url}: ${what}`, ctx.secrets), { url, ...data });
  const e = err as { name?: string; code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string }; cause?: { code?: string } };
  if (ctx.timedOut) return make('network', timeoutText(ctx.timeoutMs), { timeout: true });
  if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR') return make('network', 'fetch aborted');
  if (e?.code === 'HttpError') {
    const status = e.data?.statusCode ?? 0;
    if (status === 401 || status === 403) return make('auth', `authentication failed (HTTP ${status}); check auth.username and the password file or variable`, { status });
    if (status === 404) return make('not-found', 'repository not found (HTTP 404)', { status });
    if (status >= 500) return make('server', `server error (HTTP ${status})`, { status });
    return make('other', `unexpected HTTP status ${status}`, { status });
  }
  if (e?.code === 'SmartHttpError') return make('server', 'the server did not answer as a git smart-HTTP server');
  if (err instanceof UploadPackError) {
    if (/not our ref|not found|no such/i.test(err.message)) return make('not-found', `the server has no such commit: ${err.message}`);
    return err.fromServer ? make('server', `server error: ${err.message}`) : make('corrupt', err.message);
  }
  if (err instanceof PackFormatError || err instanceof TreeError) return make('corrupt', err.message);
  const code = e?.code ?? e?.cause?.code;
  if (code && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR') || code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|UNABLE_TO/.test(code))) {
    return make('network', `network error (${code})`, { errno: code });
  }
  return make('other', e?.message ?? String(err));
}

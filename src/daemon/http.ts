/**
 * A small HTTP listener for the daemon's health, metrics and webhook routes. Routes are plain
 * functions from a fully read request to a reply, so they test without sockets; this file is
 * the only part that touches node:http. Bodies are capped (413) before they are buffered.
 * node:http itself (about 3 MiB resident with its dependencies) is loaded by the first
 * listen(), so a daemon without listeners never loads it.
 */
import type * as Http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { listenAddressOf } from './listen-address.js';
import type { ListenAddress } from './listen-address.js';

/** The default body cap: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A request as routes see it: headers with lower-case names and the whole body. */
export interface HttpRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  remoteAddress: string;
}

/** What a route answers. */
export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** One route: which paths it owns, an optional check before the body is read, the handler. */
export interface HttpRoute {
  matches(path: string): boolean;
  /** Runs on method, path and headers only; a reply here skips reading the body. */
  precheck?(req: Omit<HttpRequest, 'body'>): HttpReply | null;
  handle(req: HttpRequest): HttpReply | Promise<HttpReply>;
  /** Default {@link DEFAULT_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
}

/** Where to listen: `host:port`, port 0 picks a free one. */
export type { ListenAddress } from './listen-address.js';

/** A running listener. */
export interface HttpListener {
  readonly address: ListenAddress;
  close(): Promise<void>;
}

/** Options of {@link listen}. */
export interface ListenOptions extends ListenAddress {
  routes: readonly HttpRoute[];
  log: Logger;
  /** Whole-request bound against slow clients (headers and body), enforced within a quarter of it (at most 1 s late); default 10 s. */
  requestTimeoutMs?: number;
}

/** A JSON reply. */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpReply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(value) + '\n' };
}

/**
 * Parses `host:port`, `[v6]:port` or a bare port (then host 127.0.0.1).
 * @throws {ConfigError} when it is not one of these.
 */
export function parseListenAddress(text: string): ListenAddress {
  const address = listenAddressOf(text);
  if (!address) throw new ConfigError(`Invalid listen address "${text}"; expected host:port`, { value: text });
  return address;
}

function send(res: Http.ServerResponse, reply: HttpReply, close = false): void {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...reply.headers };
  if (close) headers.connection = 'close';
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

async function dispatch(req: Http.IncomingMessage, res: Http.ServerResponse, routes: readonly HttpRoute[], log: Logger): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const head = { method: req.method ?? 'GET', path, headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '' };
  const route = routes.find((r) => r.matches(path));
  if (!route) {
    req.resume();
    return send(res, json(404, { error: 'not found' }));
  }
  const early = route.precheck?.(head) ?? null;
  if (early) {
    req.resume();
    return send(res, early, true);
  }
  const max = route.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (Number(req.headers['content-length'] ?? 0) > max) {
    req.resume();
    return send(res, json(413, { error: 'body too large' }), true);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      send(res, json(413, { error: 'body too large' }), true);
      req.destroy();
      return;
    }
    chunks.push(chunk);
  }
  try {
    send(res, await route.handle({ ...head, body: Buffer.concat(chunks) }));
  } catch (err) {
    log.error({ err, path }, 'HTTP handler failed');
    send(res, json(500, { error: 'internal error' }));
  }
}

/**
 * Starts listening.
 * @throws {ConfigError} when the address cannot be bound (in use, not local, no permission).
 */
export async function listen(opts: ListenOptions): Promise<HttpListener> {
  const { createServer } = await import('node:http');
  const requestTimeout = opts.requestTimeoutMs ?? 10_000;
  // Node checks these two bounds only every `connectionsCheckingInterval` (30 s by default), so a
  // slow client held the connection for up to 40 s; check often enough for the bound to mean ~it.
  const connectionsCheckingInterval = Math.max(50, Math.min(1_000, Math.floor(requestTimeout / 4)));
  const server = createServer({ connectionsCheckingInterval }, (req, res) => {
    dispatch(req, res, opts.routes, opts.log).catch((err: unknown) => {
      opts.log.warn({ err }, 'HTTP request aborted');
      if (!res.headersSent) send(res, json(400, { error: 'bad request' }), true);
      else res.destroy();
    });
  });
  server.requestTimeout = requestTimeout;
  server.headersTimeout = Math.min(requestTimeout, 10_000);
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new ConfigError(`Cannot listen on ${opts.host}:${opts.port}: ${err.message}`, { host: opts.host, port: opts.port }, { cause: err })));
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    address: { host: addr.address, port: addr.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

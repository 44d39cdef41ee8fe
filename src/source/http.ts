/**
 * A Node HttpClient in isomorphic-git's shape, built on node:http/https: honours the request's
 * AbortSignal (the fetch timeout) and NODE_EXTRA_CA_CERTS (Node's TLS does), sends no proxy
 * credentials and never follows redirects, so credentials cannot leak to another host.
 */
import http from 'node:http';
import https from 'node:https';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { SourceError, stripUrlCredentials } from '../errors.js';

/** Creates the default HTTP client of the git source. */
export function createNodeHttpClient(): HttpClient {
  // Keep-alive serves the GET and POST of one fetch; idle sockets are dropped after a second, well
  // before any server's keep-alive timeout, so a poll never reuses a socket the server has closed.
  const agents = { http: new http.Agent({ keepAlive: true, timeout: 1000 }), https: new https.Agent({ keepAlive: true, timeout: 1000 }) };
  return { request: (req) => request(req, agents) };
}

async function request(req: GitHttpRequest, agents: { http: http.Agent; https: https.Agent }): Promise<GitHttpResponse> {
  const chunks: Uint8Array[] = [];
  if (req.body) for await (const c of req.body) chunks.push(c);
  const body = Buffer.concat(chunks);
  const url = new URL(req.url);
  const secure = url.protocol === 'https:';
  const mod = secure ? https : http;
  const headers: Record<string, string> = { ...req.headers };
  if (req.body) headers['content-length'] = String(body.length);
  const send = (retry: boolean): Promise<GitHttpResponse> =>
    new Promise((resolve, reject) => {
      const r = mod.request(url, { method: req.method ?? 'GET', headers, signal: req.signal, agent: secure ? agents.https : agents.http }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          // Not followed: the Authorization header must never reach another host, and a moved
          // repository is better fixed in source.url than chased on every poll.
          res.resume();
          reject(redirectError(url, res.headers.location, status));
          return;
        }
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({
          url: req.url,
          method: req.method,
          statusCode: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: flat,
          body: res[Symbol.asyncIterator]() as AsyncIterableIterator<Uint8Array>,
        });
      });
      r.on('error', (err: NodeJS.ErrnoException) => {
        // The server may close an idle keep-alive socket just as we reuse it (Node's documented race).
        if (retry && r.reusedSocket && err.code === 'ECONNRESET') resolve(send(false));
        else reject(err);
      });
      r.end(req.body ? body : undefined);
    });
  return send(true);
}

/** The error of a redirect: where it points (no userinfo, query or fragment) and what to do. */
function redirectError(from: URL, location: string, status: number): SourceError {
  let to: string;
  try {
    const u = new URL(location, from);
    to = stripUrlCredentials(`${u.protocol}//${u.username ? 'x@' : ''}${u.host}${u.pathname}`);
  } catch {
    to = '(an invalid location)';
  }
  const repo = `${from.protocol}//${from.host}${from.pathname.replace(/\/(info\/refs|git-upload-pack)$/, '')}`;
  return new SourceError('other', `Git source ${repo}: the server redirects to ${to} (HTTP ${status}); redirects are not followed, so credentials never go to another host: set source.url to the new address`, { url: repo, status, location: to });
}

// Loopback servers of the fleet benchmark, counting per simulated second (sim.second):
// - a counting reverse proxy in front of the real `git http-backend` server (bench/git-server.mjs),
//   which can play an outage: 503 for every request, or refused connections;
// - a check-in API that records every run_id it accepts, and can answer 503.
import http from 'node:http';

/** Per-second counters: `bump(second, key, n)`; `series(key, from, to)` is one value per second. */
export function createCounters() {
  const bySecond = new Map();
  return {
    bump(second, key, n = 1) {
      let row = bySecond.get(second);
      if (!row) bySecond.set(second, (row = {}));
      row[key] = (row[key] ?? 0) + n;
    },
    series(key, from, to) {
      const out = [];
      for (let s = from; s < to; s++) out.push(bySecond.get(s)?.[key] ?? 0);
      return out;
    },
  };
}

function listen(server) {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${server.address().port}`)));
}

/** Counts wire bytes (headers and bodies, both directions) of one socket since the last call. */
function socketDelta(socket) {
  const total = socket.bytesRead + socket.bytesWritten;
  const delta = total - (socket.fleetSeen ?? 0);
  socket.fleetSeen = total;
  return delta;
}

/** Sends a buffered upstream answer; the same bytes whether it came from the cache or not. */
function reply(res, answer) {
  const headers = { ...answer.headers, 'content-length': String(answer.body.length) };
  delete headers['transfer-encoding'];
  delete headers.connection;
  delete headers['keep-alive'];
  res.writeHead(answer.status, headers).end(answer.body);
}

/** Reads a whole request or response body. */
function readAll(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/**
 * A reverse proxy to `upstream` (the git server's base URL). Counts `requests`, `polls` (ref
 * advertisements: every poll starts with exactly one), `packs` (upload-pack POSTs), `bytes`
 * (wire bytes at the proxy's client side) and `errors` (answers during an outage).
 *
 * With `cache`, the answer of `git http-backend` to a request (method, URL and body) is kept
 * until invalidate() (called after each push), as a caching front end of a Git host would: the
 * fleet's 1,000 identical ref advertisements per interval cost one backend process instead of
 * 1,000 (~25 ms of CPU each), which two shared cores cannot afford. Every agent still has its
 * whole HTTP exchange with the proxy, and the bytes it receives are the backend's.
 */
export async function startGitProxy(upstream, sim, counters, { cache = true } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const target = new URL(upstream);
  const state = { outage: null, cache: new Map(), backendCalls: 0 };
  const forward = (req, body) =>
    new Promise((resolve, reject) => {
      state.backendCalls++;
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent }, (ur) => {
        readAll(ur).then((b) => resolve({ status: ur.statusCode ?? 502, headers: ur.headers, body: b }), reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  const server = http.createServer(async (req, res) => {
    const s = sim.second;
    counters.bump(s, 'requests');
    if (req.url.includes('/info/refs')) counters.bump(s, 'polls');
    else if (req.url.endsWith('/git-upload-pack')) counters.bump(s, 'packs');
    res.on('finish', () => counters.bump(s, 'bytes', socketDelta(req.socket)));
    if (state.outage === 'refuse') {
      counters.bump(s, 'errors');
      req.socket.destroy();
      return;
    }
    const body = await readAll(req);
    if (state.outage === '503') {
      counters.bump(s, 'errors');
      res.writeHead(503, { 'content-type': 'text/plain', 'content-length': '20' }).end('Service Unavailable\n');
      return;
    }
    const key = `${req.method} ${req.url} ${req.headers['git-protocol'] ?? ''} ${body.toString('base64')}`;
    let answer = cache ? state.cache.get(key) : undefined;
    if (!answer) {
      answer = forward(req, body);
      if (cache) state.cache.set(key, answer);
    }
    try {
      reply(res, await answer);
    } catch {
      state.cache.delete(key);
      res.destroy();
    }
  });
  const base = await listen(server);
  return {
    url: (name) => `${base}/${name}.git`,
    /** `null` (serving), `'503'` or `'refuse'`. */
    setOutage(mode) {
      state.outage = mode;
    },
    /** Forgets cached answers: the repository changed. */
    invalidate() {
      state.cache.clear();
    },
    /** Requests that reached `git http-backend`. */
    get backendCalls() {
      return state.backendCalls;
    },
    async stop() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * The check-in API (Crontopus protocol: POST a JSON payload with run_id). Counts `requests` and
 * `delivered`; `received` maps run_id → times accepted with a 2xx.
 */
export async function startCheckinServer(sim, counters) {
  const state = { outage: false };
  const received = new Map();
  const server = http.createServer((req, res) => {
    const s = sim.second;
    counters.bump(s, 'checkins');
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (state.outage) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('down\n');
        return;
      }
      const runId = JSON.parse(Buffer.concat(chunks).toString()).run_id;
      received.set(runId, (received.get(runId) ?? 0) + 1);
      counters.bump(s, 'delivered');
      res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const url = await listen(server);
  return {
    url: `${url}/api/check-in`,
    received,
    setOutage(down) {
      state.outage = down;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

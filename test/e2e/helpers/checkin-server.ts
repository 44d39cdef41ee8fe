/**
 * A loopback check-in server for e2e tests: `http.createServer` on 127.0.0.1:0 whose answers
 * are scripted per request number (`switch (counter++)`, as undici's tests do).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One received request. */
export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What to do with request number `n` (0-based). */
export type Behaviour = { status: number; headers?: Record<string, string> } | 'reset' | 'hang';

/** A running check-in server. */
export interface CheckinServer {
  url: string;
  received: Received[];
  /** Bodies of requests answered 2xx, parsed as JSON. */
  delivered(): Array<Record<string, unknown>>;
  close(): Promise<void>;
  /** Resolves when `n` requests have been received. */
  waitFor(n: number): Promise<void>;
  /** Connections the clients still hold open (a 'hang' request keeps its own until the client gives up). */
  openConnections(): number;
}

/** Starts a server; `script(n)` picks the behaviour of the n-th request (default 200). */
export async function startCheckinServer(script: (n: number) => Behaviour = () => ({ status: 200 })): Promise<CheckinServer> {
  const received: Received[] = [];
  const ok: Received[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let counter = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      const b = script(counter++);
      for (const w of waiters.filter((x) => received.length >= x.n)) w.resolve();
      if (b === 'hang') return;
      if (b === 'reset') {
        req.socket.destroy();
        return;
      }
      if (b.status >= 200 && b.status < 300) ok.push(r);
      res.writeHead(b.status, { 'content-type': 'application/json', ...b.headers });
      res.end('{}');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/api/checkins`,
    received,
    delivered: () => ok.map((r) => JSON.parse(r.body) as Record<string, unknown>),
    openConnections: () => sockets.size,
    waitFor: (n) => (received.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

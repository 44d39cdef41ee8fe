/**
 * Both HTTP clients read at most 1 MiB of a response body: a server that sends an endless body
 * is cut off there, not buffered whole until the request's timeout.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeHttpClient, createUndiciHttpClient } from '../../src/system/http.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A server answering 200 with an endless body of 64 KiB chunks. */
async function endless(): Promise<string> {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const pump = (): void => {
      while (res.write(chunk)) { /* until the socket's buffer is full */ }
      res.once('drain', pump);
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('system/http: response bodies', () => {
  it.each([['node:http', createNodeHttpClient], ['undici', createUndiciHttpClient]])('%s keeps 1 MiB of an endless body and answers before its timeout', async (_name, make) => {
    const url = await endless();

    const res = await make().request({ url, timeoutMs: 20_000 });

    expect(res.statusCode).toBe(200);
    expect(res.body.length).toBeLessThanOrEqual(1 << 20);
    expect(res.body.length).toBeGreaterThan(0);
  }, 60_000);
});

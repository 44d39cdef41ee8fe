import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { json, listen, parseListenAddress } from '../../src/daemon/http.js';
import { nullLogger } from '../../src/log.js';

/** Sends `head` and then nothing more; resolves with what came back once the server closes the connection, or null after `waitMs`. */
async function holdOpen(port: number, head: string, waitMs: number): Promise<string | null> {
  const socket = connect(port, '127.0.0.1');
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(head);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

describe('daemon/http', () => {
  it.each`
    text                | host           | port
    ${'9464'}           | ${'127.0.0.1'} | ${9464}
    ${'127.0.0.1:9464'} | ${'127.0.0.1'} | ${9464}
    ${'0.0.0.0:8080'}   | ${'0.0.0.0'}   | ${8080}
    ${'[::1]:9464'}     | ${'::1'}       | ${9464}
    ${'localhost:0'}    | ${'localhost'} | ${0}
  `('parses $text', ({ text, host, port }) => {
    expect(parseListenAddress(text)).toEqual({ host, port });
  });

  it.each(['', 'host:', ':80', 'a:b', '1.2.3.4:70000', 'http://x:80'])('rejects %j with a ConfigError', (text) => {
    expect(() => parseListenAddress(text)).toThrow(ConfigError);
  });

  it('json() sets the content type and ends with a newline', () => {
    expect(json(200, { a: 1 })).toEqual({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"a":1}\n' });
  });

  // Node checks requestTimeout/headersTimeout only every connectionsCheckingInterval (30 s by
  // default): a slow client used to hold a connection ~40 s against a 10 s bound. The waits here
  // are liveness bounds (8× the configured timeout), not timings.
  describe('slow clients are cut off near requestTimeoutMs', () => {
    const routes = [{ matches: (p: string) => p === '/hook', handle: () => json(200, { ok: true }) }];

    it('a client that never finishes its headers', async () => {
      const l = await listen({ host: '127.0.0.1', port: 0, routes, log: nullLogger, requestTimeoutMs: 500 });
      try {
        const got = await holdOpen(l.address.port, 'POST /hook HTTP/1.1\r\nHost: x\r\n', 4_000);
        expect(got, 'connection still open 4 s after a 0.5 s request timeout').not.toBeNull();
        expect(got).toMatch(/^HTTP\/1\.1 408 /);
      } finally {
        await l.close();
      }
    });

    it('a client that never finishes its body', async () => {
      const l = await listen({ host: '127.0.0.1', port: 0, routes, log: nullLogger, requestTimeoutMs: 500 });
      try {
        const got = await holdOpen(l.address.port, 'POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{', 4_000);
        expect(got, 'connection still open 4 s after a 0.5 s request timeout').not.toBeNull();
        expect(got).not.toMatch(/ 200 /);
      } finally {
        await l.close();
      }
    });

    it('a client that finishes in time is answered', async () => {
      const l = await listen({ host: '127.0.0.1', port: 0, routes, log: nullLogger, requestTimeoutMs: 500 });
      try {
        const got = await holdOpen(l.address.port, 'POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}', 4_000);
        expect(got).toMatch(/^HTTP\/1\.1 200 /);
      } finally {
        await l.close();
      }
    });
  });
});

/**
 * A hostile Git server for the fetch-limit tests: it never stops talking. Over smart HTTP on
 * 127.0.0.1:0 it sends either an endless ref advertisement, a valid advertisement followed by an
 * endless side-band pack, or an advertisement that stalls before the wanted ref. The same
 * streams are exported for the stand-in ssh's upload-pack (fixtures/endless-upload-pack.ts).
 * The pack is valid as far as it goes (distinct, incompressible blobs), so `git index-pack`
 * keeps consuming it instead of failing on the first object.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { deflateSync } from 'node:zlib';

/** The commit every hostile advertisement points `main` at. */
export const ENDLESS_OID = '1'.repeat(40);

/** What the hostile server does. */
export type EndlessMode = 'advertisement' | 'pack' | 'stall';

/** Encodes one pkt-line. */
export function pkt(data: string | Buffer): Buffer {
  const b = Buffer.from(data);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
}

const CAPS = 'multi_ack_detailed side-band-64k thin-pack ofs-delta shallow no-progress symref=HEAD:refs/heads/main agent=git/endless';

/** The start of an advertisement: service line (HTTP only), then HEAD with capabilities. */
export function advertisementHead(opts: { http: boolean; firstRef?: string }): Buffer {
  const parts = opts.http ? [pkt('# service=git-upload-pack\n'), Buffer.from('0000')] : [];
  parts.push(pkt(`${ENDLESS_OID} ${opts.firstRef ?? 'HEAD'}\0${CAPS}\n`));
  return Buffer.concat(parts);
}

/** A complete, small advertisement naming `main`. */
export function finiteAdvertisement(opts: { http: boolean }): Buffer {
  return Buffer.concat([advertisementHead(opts), pkt(`${ENDLESS_OID} refs/heads/main\n`), Buffer.from('0000')]);
}

/** Endless distinct ref lines, in batches of about 64 KiB. */
export function* endlessRefLines(): Generator<Buffer> {
  for (let i = 0; ; ) {
    const batch: Buffer[] = [];
    for (let n = 0; n < 1000; n++, i++) batch.push(pkt(`${ENDLESS_OID} refs/heads/r${i}\n`));
    yield Buffer.concat(batch);
  }
}

/**
 * Endless raw pack bytes: a header announcing a million objects (32 GB: endless for any test;
 * git's index-pack refuses 2^32-1 outright), then distinct, incompressible 32 KiB blobs.
 */
export function* endlessPackBytes(): Generator<Buffer> {
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(1_000_000, 8);
  yield header;
  const noise = randomBytes(32 * 1024);
  for (let i = 0; ; i++) {
    noise.writeUInt32BE(i >>> 0, 0);
    const size = noise.length;
    const head: number[] = [0x80 | (3 << 4) | (size & 15)];
    for (let rest = Math.floor(size / 16); rest > 0; rest = Math.floor(rest / 128)) head.push((rest & 0x7f) | (rest >= 128 ? 0x80 : 0));
    yield Buffer.concat([Buffer.from(head), deflateSync(noise, { level: 1 })]);
  }
}

/** Wraps raw pack bytes in side-band-64k pkt-lines on band 1. */
export function* sideBand(raw: Iterable<Buffer>): Generator<Buffer> {
  for (const chunk of raw) {
    const out: Buffer[] = [];
    for (let pos = 0; pos < chunk.length; pos += 65515) out.push(pkt(Buffer.concat([Buffer.from([1]), chunk.subarray(pos, pos + 65515)])));
    yield Buffer.concat(out);
  }
}

/**
 * Writes `chunks` to `out` with backpressure until the peer goes away; resolves with the bytes
 * written. `write` returns false when the buffer is full and `drain` resumes.
 */
export function pump(out: NodeJS.WritableStream & { destroyed?: boolean }, chunks: Iterator<Buffer>): Promise<number> {
  let sent = 0;
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (!done) resolve(sent);
      done = true;
    };
    out.on('close', finish);
    out.on('error', finish);
    const more = (): void => {
      while (!done && !out.destroyed) {
        const next = chunks.next();
        if (next.done) return finish();
        sent += next.value.length;
        if (!out.write(next.value)) {
          out.once('drain', more);
          return;
        }
      }
      finish();
    };
    more();
  });
}

/** A running hostile smart-HTTP server. */
export interface EndlessGitServer {
  /** Repository URL (`http://127.0.0.1:PORT/repo.git`). */
  readonly url: string;
  /** Response body bytes written so far, over all requests. */
  sent(): number;
  stop(): Promise<void>;
}

/** Starts a hostile smart-HTTP server on 127.0.0.1:0. */
export async function startEndlessGitServer(mode: EndlessMode): Promise<EndlessGitServer> {
  const sockets = new Set<Socket>();
  let sent = 0;
  const count = (p: Promise<number>): void => void p.then((n) => (sent += n));
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path.endsWith('/info/refs')) {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement', 'cache-control': 'no-cache' });
      if (mode === 'pack') {
        res.end(finiteAdvertisement({ http: true }));
        return;
      }
      if (mode === 'stall') {
        // HEAD only, then silence: `main` never arrives and the response never ends.
        res.write(advertisementHead({ http: true, firstRef: 'refs/heads/other' }));
        return;
      }
      res.write(advertisementHead({ http: true }));
      count(pump(res, endlessRefLines()));
      return;
    }
    if (req.method === 'POST' && path.endsWith('/git-upload-pack')) {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-result', 'cache-control': 'no-cache' });
        res.write(Buffer.concat([pkt(`shallow ${ENDLESS_OID}\n`), Buffer.from('0000'), pkt('NAK\n')]));
        count(pump(res, sideBand(endlessPackBytes())));
      });
      return;
    }
    res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    sent: () => sent,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

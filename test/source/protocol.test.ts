import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/source/classify.js';
import { AdvertisementError, discover, fetchPack, HttpStatusError, NotSmartHttpError, parseAdvertisement, resolveRemoteRef } from '../../src/source/protocol.js';

const pkt = (s: string | Buffer): Buffer => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
};
const FLUSH = Buffer.from('0000');
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const never = new AbortController().signal;
const ctx = { url: 'http://x/r.git', secrets: [], timeoutMs: 1000, timedOut: false };

/** An HttpClient answering every request with `status`, `type` and `body`; records the requests. */
function fakeHttp(status: number, type: string, body: Buffer): HttpClient & { requests: GitHttpRequest[]; bodies: Buffer[] } {
  const requests: GitHttpRequest[] = [];
  const bodies: Buffer[] = [];
  return {
    requests,
    bodies,
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      requests.push(req);
      if (req.body) {
        const parts: Uint8Array[] = [];
        for await (const c of req.body) parts.push(c);
        bodies.push(Buffer.concat(parts));
      }
      return { url: req.url, method: req.method ?? 'GET', statusCode: status, statusMessage: status === 200 ? 'OK' : 'No', headers: { 'content-type': type }, body: (async function* () { yield body; })() };
    },
  };
}

const AD_TYPE = 'application/x-git-upload-pack-advertisement';
const advertisement = Buffer.concat([
  pkt('# service=git-upload-pack\n'), FLUSH,
  pkt(`${A} HEAD\0multi_ack thin-pack side-band-64k ofs-delta shallow symref=HEAD:refs/heads/main agent=git/2.39.5\n`),
  pkt(`${A} refs/heads/main\n`), pkt(`${B} refs/tags/v1\n`), pkt(`${C} refs/tags/v1^{}\n`), FLUSH,
]);

describe('source/protocol: the ref advertisement', () => {
  it('reads refs, peeled tags, capabilities and the HEAD symref', () => {
    const ad = parseAdvertisement(advertisement);

    expect([...ad.refs]).toEqual([['HEAD', A], ['refs/heads/main', A], ['refs/tags/v1', B], ['refs/tags/v1^{}', C]]);
    expect(ad.capabilities).toEqual(new Set(['multi_ack', 'thin-pack', 'side-band-64k', 'ofs-delta', 'shallow', 'symref=HEAD:refs/heads/main', 'agent=git/2.39.5']));
    expect([...ad.symrefs]).toEqual([['HEAD', 'refs/heads/main']]);
    expect(resolveRemoteRef(ad, undefined)).toEqual({ oid: A, fullRef: 'refs/heads/main' });
    expect(resolveRemoteRef(ad, 'v1')).toEqual({ oid: C, fullRef: 'refs/tags/v1' });
  });

  it('reads an empty repository, the no-refs placeholder and a "version 1" line', () => {
    expect(parseAdvertisement(Buffer.concat([pkt('# service=git-upload-pack\n'), FLUSH]))).toEqual({ refs: new Map(), symrefs: new Map(), capabilities: new Set() });
    const none = parseAdvertisement(Buffer.concat([pkt('# service=git-upload-pack\n'), FLUSH, pkt(`${'0'.repeat(40)} capabilities^{}\0side-band-64k\n`), FLUSH]));
    expect([none.refs.size, [...none.capabilities]]).toEqual([0, ['side-band-64k']]);
    const v1 = parseAdvertisement(Buffer.concat([pkt('# service=git-upload-pack\n'), FLUSH, pkt('version 1\n'), pkt(`${A} HEAD\0side-band-64k\n`), FLUSH]));
    expect([...v1.refs]).toEqual([['HEAD', A]]);
  });

  it('refuses an empty, truncated or malformed advertisement', () => {
    expect(() => parseAdvertisement(Buffer.alloc(0))).toThrow(AdvertisementError);
    expect(() => parseAdvertisement(advertisement.subarray(0, advertisement.length - 20))).toThrow('malformed pkt-line');
    expect(() => parseAdvertisement(Buffer.concat([pkt('# service=git-receive-pack\n'), FLUSH]))).toThrow(AdvertisementError);
    expect(() => parseAdvertisement(Buffer.concat([pkt('# service=git-upload-pack\n'), FLUSH, pkt(`${A} HEAD side-band-64k\n`)]))).toThrow('malformed first ref line');
  });

  it('GETs info/refs with the given headers; an advertisement that does not parse is an "other" error', async () => {
    const http = fakeHttp(200, AD_TYPE, advertisement);

    const ad = await discover({ http, url: 'http://x/r.git', headers: { authorization: 'Basic eDp5' }, signal: never });

    expect(ad.refs.get('HEAD')).toBe(A);
    expect(http.requests).toMatchObject([{ method: 'GET', url: 'http://x/r.git/info/refs?service=git-upload-pack', headers: { authorization: 'Basic eDp5' } }]);
    const bad = await discover({ http: fakeHttp(200, AD_TYPE, pkt('# service=git-upload-pack\n').subarray(0, 10)), url: 'http://x/r.git', headers: {}, signal: never }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(AdvertisementError);
    expect(classify(bad, ctx).kind).toBe('other');
  });

  it('an answer that is no advertisement (an HTML page, a dumb server) is a server error', async () => {
    const err = await discover({ http: fakeHttp(200, 'text/html', Buffer.from('<html>sign in</html>')), url: 'http://x/r.git', headers: {}, signal: never }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(NotSmartHttpError);
    expect(classify(err, ctx)).toMatchObject({ kind: 'server', message: 'Git source http://x/r.git: the server did not answer as a git smart-HTTP server' });
  });

  it('a status other than 200 is an HTTP error that classify maps by status, on both requests', async () => {
    const ad = await discover({ http: fakeHttp(401, 'text/plain', Buffer.from('no')), url: 'http://x/r.git', headers: {}, signal: never }).catch((e: unknown) => e);
    const pack = await fetchPack({ http: fakeHttp(404, 'text/plain', Buffer.from('no')), url: 'http://x/r.git', headers: {}, signal: never, want: A, haves: [], shallows: [], capabilities: new Set(), maxBytes: 1024 }).catch((e: unknown) => e);

    expect(ad).toBeInstanceOf(HttpStatusError);
    expect(classify(ad, ctx).kind).toBe('auth');
    expect(classify(pack, ctx).kind).toBe('not-found');
  });
});

describe('source/protocol: the pack request', () => {
  it('POSTs a depth-1 want with the capabilities both sides have, the shallows and the haves', async () => {
    const response = Buffer.concat([pkt(`shallow ${A}\n`), FLUSH, pkt('NAK\n'), pkt(Buffer.concat([Buffer.from([1]), Buffer.from('PACK-bytes')])), FLUSH]);
    const http = fakeHttp(200, 'application/x-git-upload-pack-result', response);

    const res = await fetchPack({ http, url: 'http://x/r.git', headers: { authorization: 'Basic eDp5' }, signal: never, want: A, haves: [B], shallows: [C], capabilities: new Set(['side-band-64k', 'ofs-delta', 'multi_ack']), maxBytes: 1024 });

    expect(res).toEqual({ pack: Buffer.from('PACK-bytes'), shallow: [A], unshallow: [] });
    expect(http.requests).toMatchObject([{ method: 'POST', url: 'http://x/r.git/git-upload-pack', headers: { authorization: 'Basic eDp5', 'content-type': 'application/x-git-upload-pack-request', accept: 'application/x-git-upload-pack-result' } }]);
    expect(http.bodies[0]?.toString()).toBe(Buffer.concat([pkt(`want ${A} side-band-64k ofs-delta agent=cronsync\n`), pkt(`shallow ${C}\n`), pkt('deepen 1\n'), FLUSH, pkt(`have ${B}\n`), pkt('done\n')]).toString());
  });
});

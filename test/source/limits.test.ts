import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GitHttpResponse, HttpClient } from 'isomorphic-git';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, SourceError } from '../../src/errors.js';
import { DEFAULT_MAX_FETCH_BYTES, formatSize, MAX_ADVERTISEMENT_BYTES, maxFetchBytesOf, sizeBytes } from '../../src/source/limits.js';
import { discover, fetchPack } from '../../src/source/protocol.js';
import { parseUploadPackResponse, UploadPackError, UploadPackReader } from '../../src/source/sideband.js';

const pkt = (s: string | Buffer): Buffer => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
};
const OID = 'a'.repeat(40);
const never = new AbortController().signal;

/** An HttpClient whose every response is 200 with `type` and the body `body()` yields; counts bytes pulled. */
function fakeHttp(type: string, body: () => AsyncGenerator<Uint8Array>): HttpClient & { pulled: number; closed: boolean } {
  const state = { pulled: 0, closed: false };
  async function* counted(): AsyncGenerator<Uint8Array> {
    try {
      for await (const c of body()) {
        state.pulled += c.length;
        yield c;
      }
    } finally {
      state.closed = true;
    }
  }
  return Object.assign(state, {
    async request(): Promise<GitHttpResponse> {
      return { url: 'http://x/r.git', method: 'GET', statusCode: 200, statusMessage: 'OK', headers: { 'content-type': type }, body: counted() };
    },
  });
}

async function* endless(first: Buffer, next: (i: number) => Buffer): AsyncGenerator<Uint8Array> {
  yield first;
  for (let i = 0; i < 1e7; i++) yield next(i);
}

describe('source/limits', () => {
  it.each`
    text                   | want
    ${'512MiB'}            | ${512 * 1024 * 1024}
    ${'64KiB'}             | ${64 * 1024}
    ${'2GiB'}              | ${2 * 1024 ** 3}
    ${'100B'}              | ${100}
    ${'1048576'}           | ${1048576}
    ${1048576}             | ${1048576}
    ${'0'}                 | ${undefined}
    ${'0MiB'}              | ${undefined}
    ${''}                  | ${undefined}
    ${'1.5MiB'}            | ${undefined}
    ${'1 MiB'}             | ${undefined}
    ${'1MB'}               | ${undefined}
    ${'-1'}                | ${undefined}
    ${'99999999999999GiB'} | ${undefined}
  `('sizeBytes($text) is $want', ({ text, want }: { text: string | number; want: number | undefined }) => {
    expect(sizeBytes(text)).toBe(want);
  });

  it('maxFetchBytesOf: 512 MiB by default; a value that is not a size is a config error naming the setting', () => {
    expect(maxFetchBytesOf(undefined)).toBe(DEFAULT_MAX_FETCH_BYTES);
    expect(DEFAULT_MAX_FETCH_BYTES).toBe(512 * 1024 * 1024);
    expect(maxFetchBytesOf('4MiB')).toBe(4 * 1024 * 1024);
    expect(() => maxFetchBytesOf('lots')).toThrow(ConfigError);
    expect(() => maxFetchBytesOf('lots')).toThrow('source.maxFetchSize must be a size');
  });

  it('source.maxFetchSize in the config: a size string, from the file or CRONSYNC_SOURCE_MAX_FETCH_SIZE; anything else is refused at its line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cronsync-size-'));
    try {
      const file = (size: string): string => {
        const p = path.join(dir, 'config.yaml');
        writeFileSync(p, `agent:\n  tenant: acme\nsource:\n  url: https://git.example.com/jobs.git\n  maxFetchSize: ${size}\n`);
        return p;
      };

      const fromFile = loadConfig({ file: file('64KiB'), env: {} }).source.maxFetchSize;
      const fromEnv = loadConfig({ file: file('64KiB'), env: { CRONSYNC_SOURCE_MAX_FETCH_SIZE: '1048576' } }).source.maxFetchSize;
      const bad = (() => {
        try {
          loadConfig({ file: file('64 MB'), env: {} });
        } catch (e) {
          return e as Error;
        }
        return null;
      })();

      expect([fromFile, fromEnv].map((v) => sizeBytes(v ?? ''))).toEqual([64 * 1024, 1048576]);
      expect(bad).toBeInstanceOf(ConfigError);
      expect(bad?.message).toMatch(/config\.yaml:5:\d+: .*maxFetchSize/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('formatSize', () => {
    expect([formatSize(4 * 1024 * 1024), formatSize(512 * 1024 * 1024), formatSize(1536 * 1024 * 1024), formatSize(64 * 1024), formatSize(1000)]).toEqual(['4 MiB', '512 MiB', '1.5 GiB', '64 KiB', '1000 bytes']);
  });
});

describe('source/sideband', () => {
  const response = Buffer.concat([
    pkt(`shallow ${OID}\n`), Buffer.from('0000'), pkt('NAK\n'),
    pkt(Buffer.concat([Buffer.from([1]), Buffer.alloc(17_000, 7)])), pkt(Buffer.from('\x02progress')), pkt(Buffer.from('\x01PACK-tail')), Buffer.from('0000'),
  ]);

  it('reads a response fed in chunks of any size exactly as the whole', () => {
    const whole = parseUploadPackResponse(response);

    for (const size of [1, 5, 4096]) {
      const reader = new UploadPackReader();
      for (let i = 0; i < response.length; i += size) reader.push(response.subarray(i, i + size));
      expect(reader.end()).toEqual(whole);
    }
    expect(whole.shallow).toEqual([OID]);
    expect(whole.pack.length).toBe(17_000 + 9);
  });

  it('fails on an ERR line or band-3 message as they arrive, and on a response cut inside a pkt-line', () => {
    const err = (b: Buffer): unknown => {
      try {
        new UploadPackReader().push(b);
      } catch (e) {
        return e;
      }
      return null;
    };

    expect(err(pkt('ERR upload-pack: not our ref\n'))).toMatchObject({ message: 'upload-pack: not our ref', fromServer: true });
    expect(err(pkt(Buffer.from('\x03fatal: out of memory')))).toMatchObject({ message: 'fatal: out of memory', fromServer: true });
    expect(err(Buffer.from('zzzz'))).toBeInstanceOf(UploadPackError);
    expect(() => parseUploadPackResponse(response.subarray(0, response.length - 10))).toThrow('malformed pkt-line');
  });
});

describe('source/protocol limits', () => {
  it('an endless pack response stops just past maxBytes with a source error naming source.maxFetchSize, and the body is closed', async () => {
    const http = fakeHttp('application/x-git-upload-pack-result', () => endless(pkt('NAK\n'), () => pkt(Buffer.concat([Buffer.from([1]), Buffer.alloc(65_000, 1)]))));

    const err = (await fetchPack({ http, url: 'http://x/r.git', headers: {}, signal: never, want: OID, haves: [], shallows: [], capabilities: new Set(['side-band-64k']), maxBytes: 1024 * 1024 }).catch((e: unknown) => e)) as SourceError;

    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toContain('more than 1 MiB for one fetch (source.maxFetchSize)');
    expect(err.data).toMatchObject({ limit: 1024 * 1024, setting: 'source.maxFetchSize' });
    expect(http.pulled).toBeLessThan(1024 * 1024 + 65_010);
    expect(http.closed).toBe(true);
  });

  it('an endless ref advertisement stops at its fixed cap', async () => {
    const head = Buffer.concat([pkt('# service=git-upload-pack\n'), Buffer.from('0000'), pkt(`${OID} HEAD\0side-band-64k\n`)]);
    const http = fakeHttp('application/x-git-upload-pack-advertisement', () => endless(head, (i) => Buffer.concat(Array.from({ length: 100 }, (_, j) => pkt(`${OID} refs/heads/r${i}-${j}\n`)))));

    const err = (await discover({ http, url: 'http://x/r.git', headers: {}, signal: never }).catch((e: unknown) => e)) as SourceError;

    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toContain('the ref advertisement is more than 4 MiB');
    expect(err.data.limit).toBe(MAX_ADVERTISEMENT_BYTES);
    expect(http.pulled).toBeLessThan(MAX_ADVERTISEMENT_BYTES + 10_000);
    expect(http.closed).toBe(true);
  });

  it('an advertisement cut by an abort rethrows the abort instead of returning the refs read so far', async () => {
    const ac = new AbortController();
    const http = fakeHttp('application/x-git-upload-pack-advertisement', async function* () {
      yield Buffer.concat([pkt('# service=git-upload-pack\n'), Buffer.from('0000'), pkt(`${OID} refs/heads/other\0side-band-64k\n`)]);
      ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      throw ac.signal.reason;
    });

    const err = await discover({ http, url: 'http://x/r.git', headers: {}, signal: ac.signal }).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'TimeoutError' });
  });
});

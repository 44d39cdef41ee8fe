/**
 * The git smart-HTTP upload-pack exchange (protocol v0/v1, stateless RPC). Ref discovery and the
 * HTTP round trips go through isomorphic-git's GitRemoteHTTP; the request is a shallow,
 * single-want negotiation, and the response (shallow lines, ACK/NAK, side-band) is read here.
 * Every response body is capped as it arrives: the advertisement at a fixed size, the pack at
 * `source.maxFetchSize`.
 */
import type { GitHttpResponse, HttpClient } from 'isomorphic-git';
import type * as Managers from 'isomorphic-git/managers';
import { limitBody, limitError, MAX_ADVERTISEMENT_BYTES } from './limits.js';
import type { FetchLimit } from './limits.js';
import { UploadPackReader } from './sideband.js';
import type { PackResponse } from './sideband.js';

export { parseUploadPackResponse, UploadPackError } from './sideband.js';
export type { PackResponse } from './sideband.js';

// Loaded on the first exchange: isomorphic-git's bundle costs megabytes of resident memory,
// which agents on a directory or local source never need.
let managers: Promise<typeof Managers> | undefined;
const remote = async (): Promise<typeof Managers.GitRemoteHTTP> => (await (managers ??= import('isomorphic-git/managers'))).GitRemoteHTTP;

/** What the server advertised. */
export interface Advertisement {
  refs: Map<string, string>;
  symrefs: Map<string, string>;
  capabilities: Set<string>;
}

/** Common arguments of both round trips. */
export interface RemoteArgs {
  http: HttpClient;
  /** URL without credentials. */
  url: string;
  /** Includes `Authorization` when credentials are configured (sent up front: one round trip). */
  headers: Record<string, string>;
  signal: AbortSignal;
}

/**
 * An HttpClient that caps every response body at `limit` bytes and keeps the first error any
 * body raised. isomorphic-git's pkt-line reader swallows a body's error and ends the stream
 * instead, so without this a timeout or the cap mid-advertisement would read as a short list
 * of refs ("ref main not found").
 */
function guarded(http: HttpClient, url: string, which: FetchLimit, limit: number): { http: HttpClient; failure: () => unknown } {
  let failure: unknown;
  async function* watch(body: AsyncIterableIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      yield* limitBody(body, limit, () => limitError(url, which, limit));
    } catch (err) {
      failure ??= err;
      throw err;
    }
  }
  return {
    http: {
      async request(req): Promise<GitHttpResponse> {
        const res = await http.request(req);
        return res.body ? { ...res, body: watch(res.body) } : res;
      },
    },
    failure: () => failure,
  };
}

/**
 * Fetches the ref advertisement (`GET info/refs?service=git-upload-pack`), at most
 * {@link MAX_ADVERTISEMENT_BYTES}.
 * @throws {SourceError} when the advertisement outgrows its cap.
 */
export async function discover(args: RemoteArgs): Promise<Advertisement> {
  const guard = guarded(args.http, args.url, 'advertisement', MAX_ADVERTISEMENT_BYTES);
  let r: Advertisement;
  try {
    r = (await (await remote()).discover({ ...args, http: guard.http, headers: { ...args.headers }, service: 'git-upload-pack', protocolVersion: 1 })) as Advertisement;
  } catch (err) {
    throw guard.failure() ?? err;
  }
  if (guard.failure() !== undefined) throw guard.failure();
  args.signal.throwIfAborted();
  return { refs: r.refs, symrefs: r.symrefs, capabilities: r.capabilities };
}

/** Resolves `ref` against an advertisement; returns the commit id (peeled) and the full ref name. */
export function resolveRemoteRef(ad: Advertisement, ref: string | undefined): { oid: string; fullRef: string } | null {
  if (ref && /^[0-9a-f]{40}$/.test(ref)) return { oid: ref, fullRef: ref };
  const name = ref ?? 'HEAD';
  for (const cand of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`]) {
    const oid = ad.refs.get(`${cand}^{}`) ?? ad.refs.get(cand);
    if (oid) return { oid, fullRef: cand === 'HEAD' ? (ad.symrefs.get('HEAD') ?? 'HEAD') : cand };
  }
  return null;
}

/**
 * Asks for `want` at depth 1, telling the server which commits we have, and returns the pack.
 * The response is read as it arrives and may be at most `maxBytes` (`source.maxFetchSize`).
 * @throws {UploadPackError} on an `ERR` line or a malformed response.
 * @throws {SourceError} when the response outgrows `maxBytes`.
 */
export async function fetchPack(args: RemoteArgs & { want: string; haves: readonly string[]; shallows: readonly string[]; capabilities: Set<string>; maxBytes: number }): Promise<PackResponse> {
  // thin-pack: without it git answers a shallow fetch with the whole tree again (546 KB instead
  // of 481 bytes for a one-file change in a 10k-file repo); the bases come from our store.
  const caps = ['side-band-64k', 'thin-pack', 'ofs-delta', 'no-progress', 'agent=cronsync'].filter((c) => c.startsWith('agent=') || args.capabilities.has(c));
  const lines: Buffer[] = [pkt(`want ${args.want} ${caps.join(' ')}\n`)];
  for (const s of args.shallows) lines.push(pkt(`shallow ${s}\n`));
  lines.push(pkt('deepen 1\n'), Buffer.from('0000'));
  for (const h of args.haves) lines.push(pkt(`have ${h}\n`));
  lines.push(pkt('done\n'));
  const body = Buffer.concat(lines);
  // The guard also bounds isomorphic-git's own read of the body of a non-200 answer.
  const guard = guarded(args.http, args.url, 'pack', args.maxBytes);
  const res = await (await remote()).connect({
    http: guard.http,
    url: args.url,
    service: 'git-upload-pack',
    headers: { ...args.headers },
    auth: {},
    body: (async function* () {
      yield body;
    })(),
    signal: args.signal,
  });
  const reader = new UploadPackReader();
  if (res.body) for await (const chunk of res.body) reader.push(chunk);
  return reader.end();
}

function pkt(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
}

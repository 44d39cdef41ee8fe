/**
 * The git smart-HTTP upload-pack exchange (protocol v0/v1, stateless RPC). Ref discovery and the
 * HTTP round trips go through isomorphic-git's GitRemoteHTTP; the request is a shallow,
 * single-want negotiation, and the response (shallow lines, ACK/NAK, side-band) is read here.
 */
import type { HttpClient } from 'isomorphic-git';
import type * as Managers from 'isomorphic-git/managers';
import { collectBody } from './http.js';

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

/** UploadPackError is an `ERR` line or a malformed response from the server. */
export class UploadPackError extends Error {
  override readonly name = 'UploadPackError';
  constructor(
    message: string,
    readonly fromServer: boolean,
  ) {
    super(message);
  }
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

/** Fetches the ref advertisement (`GET info/refs?service=git-upload-pack`). */
export async function discover(args: RemoteArgs): Promise<Advertisement> {
  const r = (await (await remote()).discover({ ...args, headers: { ...args.headers }, service: 'git-upload-pack', protocolVersion: 1 })) as Advertisement;
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

/** Result of a pack request. */
export interface PackResponse {
  pack: Buffer;
  /** Commits the server marked shallow. */
  shallow: string[];
  unshallow: string[];
}

/**
 * Asks for `want` at depth 1, telling the server which commits we have, and returns the pack.
 * @throws {UploadPackError} on an `ERR` line or a malformed response.
 */
export async function fetchPack(args: RemoteArgs & { want: string; haves: readonly string[]; shallows: readonly string[]; capabilities: Set<string> }): Promise<PackResponse> {
  // thin-pack: without it git answers a shallow fetch with the whole tree again (546 KB instead
  // of 481 bytes for a one-file change in a 10k-file repo); the bases come from our store.
  const caps = ['side-band-64k', 'thin-pack', 'ofs-delta', 'no-progress', 'agent=cronsync'].filter((c) => c.startsWith('agent=') || args.capabilities.has(c));
  const lines: Buffer[] = [pkt(`want ${args.want} ${caps.join(' ')}\n`)];
  for (const s of args.shallows) lines.push(pkt(`shallow ${s}\n`));
  lines.push(pkt('deepen 1\n'), Buffer.from('0000'));
  for (const h of args.haves) lines.push(pkt(`have ${h}\n`));
  lines.push(pkt('done\n'));
  const body = Buffer.concat(lines);
  const res = await (await remote()).connect({
    http: args.http,
    url: args.url,
    service: 'git-upload-pack',
    headers: { ...args.headers },
    auth: {},
    body: (async function* () {
      yield body;
    })(),
    signal: args.signal,
  });
  return parseUploadPackResponse(await collectBody(res.body));
}

function pkt(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
}

/** Parses an upload-pack response: shallow lines, ACK/NAK, then the side-band pack. */
export function parseUploadPackResponse(buf: Buffer): PackResponse {
  const shallow: string[] = [];
  const unshallow: string[] = [];
  const pack: Buffer[] = [];
  let pos = 0;
  while (pos + 4 <= buf.length) {
    const len = Number.parseInt(buf.toString('latin1', pos, pos + 4), 16);
    if (Number.isNaN(len) || (len > 0 && len < 4) || pos + len > buf.length) throw new UploadPackError('malformed pkt-line in upload-pack response', false);
    if (len === 0) {
      pos += 4;
      continue;
    }
    const data = buf.subarray(pos + 4, pos + len);
    pos += len;
    const band = data[0];
    if (band === 1) pack.push(data.subarray(1));
    else if (band === 2) continue;
    else if (band === 3) throw new UploadPackError(data.toString('utf8', 1).trim(), true);
    else {
      const text = data.toString('utf8').trim();
      if (text.startsWith('ERR ')) throw new UploadPackError(text.slice(4), true);
      if (text.startsWith('shallow ')) shallow.push(text.slice(8));
      else if (text.startsWith('unshallow ')) unshallow.push(text.slice(10));
    }
  }
  if (pack.length === 0) throw new UploadPackError('upload-pack response holds no pack', false);
  return { pack: Buffer.concat(pack), shallow, unshallow };
}

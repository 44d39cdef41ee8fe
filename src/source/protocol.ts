/**
 * The git smart-HTTP upload-pack exchange (protocol v0/v1, stateless RPC): the ref advertisement
 * (`GET info/refs?service=git-upload-pack`), then one shallow, single-want negotiation whose
 * response (shallow lines, ACK/NAK, side-band) is read as it arrives. Only node's HTTP client and
 * the pkt-line code here and in sideband.ts take part (isomorphic-git's remote managers, which
 * did these round trips before, cost a sync several MiB of resident memory). Every response
 * body is capped as it arrives: the advertisement at a fixed size, the pack at
 * `source.maxFetchSize`.
 */
import type { GitHttpResponse, HttpClient } from 'isomorphic-git';
import { limitBody, limitError, MAX_ADVERTISEMENT_BYTES } from './limits.js';
import type { FetchLimit } from './limits.js';
import { UploadPackReader } from './sideband.js';
import type { PackResponse } from './sideband.js';

export { parseUploadPackResponse, UploadPackError } from './sideband.js';
export type { PackResponse } from './sideband.js';

const SERVICE = 'git-upload-pack';
/** The id of the placeholder ref line of an advertisement without refs (git 2.41+). */
const NO_REFS = '0000000000000000000000000000000000000000 capabilities^{}';
/** Bytes of an error answer's body read (and dropped) before its connection is closed. */
const ERROR_BODY_BYTES = 64 * 1024;

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

/** An HTTP status other than 200; `code` and `data.statusCode` are what classify() reads. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  readonly code = 'HttpError';
  readonly data: { statusCode: number; statusMessage: string };
  constructor(statusCode: number, statusMessage: string) {
    super(`HTTP Error: ${statusCode} ${statusMessage}`);
    this.data = { statusCode, statusMessage };
  }
}

/** The answer to `info/refs` is not a smart-HTTP advertisement (a dumb server, an HTML page). */
export class NotSmartHttpError extends Error {
  override readonly name = 'NotSmartHttpError';
  readonly code = 'SmartHttpError';
}

/** A smart-HTTP advertisement that does not parse. */
export class AdvertisementError extends Error {
  override readonly name = 'AdvertisementError';
}

/** The body of `res`, capped at `limit` bytes as it arrives. */
function cappedBody(res: GitHttpResponse, url: string, which: FetchLimit, limit: number): AsyncGenerator<Uint8Array> | undefined {
  return res.body ? limitBody(res.body, limit, () => limitError(url, which, limit)) : undefined;
}

/** Throws the status error of a non-200 answer, after reading a little of its body (errors ignored). */
async function failStatus(res: GitHttpResponse, body: AsyncIterable<Uint8Array> | undefined): Promise<never> {
  let seen = 0;
  try {
    // Leaving the loop early closes the body (and its connection).
    if (body) for await (const chunk of body) if ((seen += chunk.byteLength) > ERROR_BODY_BYTES) break;
  } catch {
    // The status is the error to report.
  }
  throw new HttpStatusError(res.statusCode, res.statusMessage);
}

/**
 * Fetches the ref advertisement (`GET info/refs?service=git-upload-pack`), at most
 * {@link MAX_ADVERTISEMENT_BYTES}.
 * @throws {SourceError} when the advertisement outgrows its cap.
 * @throws {HttpStatusError} on a status other than 200.
 * @throws {NotSmartHttpError} when the answer is not an advertisement.
 * @throws {AdvertisementError} when an answer of the advertisement's content type does not parse.
 */
export async function discover(args: RemoteArgs): Promise<Advertisement> {
  const res = await args.http.request({ method: 'GET', url: `${args.url}/info/refs?service=${SERVICE}`, headers: { ...args.headers }, signal: args.signal });
  const body = cappedBody(res, args.url, 'advertisement', MAX_ADVERTISEMENT_BYTES);
  if (res.statusCode !== 200) return failStatus(res, body);
  const chunks: Uint8Array[] = [];
  if (body) for await (const chunk of body) chunks.push(chunk);
  args.signal.throwIfAborted();
  const data = Buffer.concat(chunks);
  try {
    return parseAdvertisement(data);
  } catch (err) {
    // Served as an advertisement: report what is wrong with it. Otherwise, like git, say that
    // this is no smart-HTTP server (a dumb one, or a URL that leads to an HTML page).
    if (res.headers?.['content-type'] === `application/x-${SERVICE}-advertisement`) throw err;
    throw new NotSmartHttpError(`the answer to info/refs is not a smart-HTTP advertisement: ${JSON.stringify(data.subarray(0, 60).toString('utf8'))}`);
  }
}

/** The pkt-lines of `buf`: each payload, or null for a flush (or delimiter) packet. */
function* pktLines(buf: Buffer): Generator<Buffer | null> {
  let pos = 0;
  while (pos < buf.length) {
    const head = buf.toString('latin1', pos, pos + 4);
    const len = /^[0-9a-f]{4}$/i.test(head) ? Number.parseInt(head, 16) : Number.NaN;
    if (len <= 2) {
      yield null;
      pos += 4;
      continue;
    }
    if (Number.isNaN(len) || len < 4 || pos + len > buf.length) throw new AdvertisementError('malformed pkt-line in the ref advertisement');
    yield buf.subarray(pos + 4, pos + len);
    pos += len;
  }
}

/** Splits `line` (trimmed) at its one `sep`. */
function pair(line: string, sep: string, what: string): [string, string] {
  const parts = line.trim().split(sep);
  if (parts.length !== 2) throw new AdvertisementError(`malformed ${what} in the ref advertisement: ${JSON.stringify(line.slice(0, 100))}`);
  return parts as [string, string];
}

/**
 * Parses a protocol v0/v1 ref advertisement: `# service=git-upload-pack`, a flush, the first
 * ref with the capabilities after a NUL, the other refs. Symbolic refs come as `symref=`
 * capabilities.
 * @throws {AdvertisementError}
 */
export function parseAdvertisement(data: Buffer): Advertisement {
  const refs = new Map<string, string>();
  const symrefs = new Map<string, string>();
  const capabilities = new Set<string>();
  const lines = pktLines(data);
  const next = (): string | undefined => {
    for (let r = lines.next(); !r.done; r = lines.next()) if (r.value !== null) return r.value.toString('utf8');
    return undefined;
  };
  const first = next();
  if (first === undefined) throw new AdvertisementError('empty response from the git server');
  if (first.replace(/\n$/, '') !== `# service=${SERVICE}`) throw new AdvertisementError(`the ref advertisement does not start with "# service=${SERVICE}"`);
  let line = next();
  if (line !== undefined && line.replace(/\n$/, '') === 'version 1') line = next();
  // A brand new repository advertises no refs and no capabilities.
  if (line === undefined) return { refs, symrefs, capabilities };
  if (line.startsWith('version 2')) throw new AdvertisementError('the server answered in protocol v2, which was not asked for');
  const [firstRef, caps] = pair(line, '\0', 'first ref line');
  for (const c of caps.split(' ')) capabilities.add(c);
  if (firstRef !== NO_REFS) {
    for (let ref: string | undefined = firstRef; ref !== undefined; ref = next()) {
      const [oid, name] = pair(ref, ' ', 'ref line');
      refs.set(name, oid);
    }
  }
  for (const c of capabilities) {
    const m = /^symref=([^:]+):(.*)$/.exec(c);
    if (m) symrefs.set(m[1] as string, m[2] as string);
  }
  return { refs, symrefs, capabilities };
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
 * @throws {HttpStatusError} on a status other than 200.
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
  const res = await args.http.request({
    method: 'POST',
    url: `${args.url}/${SERVICE}`,
    headers: { ...args.headers, 'content-type': `application/x-${SERVICE}-request`, accept: `application/x-${SERVICE}-result` },
    body: (async function* () {
      yield body;
    })(),
    signal: args.signal,
  });
  const chunks = cappedBody(res, args.url, 'pack', args.maxBytes);
  if (res.statusCode !== 200) return failStatus(res, chunks);
  const reader = new UploadPackReader();
  if (chunks) for await (const chunk of chunks) reader.push(chunk);
  return reader.end();
}

function pkt(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
}

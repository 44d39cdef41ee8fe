/**
 * Size limits of a fetch (SPEC §8a): the pack is capped by `source.maxFetchSize`, the ref
 * advertisement by a fixed cap of its own, and bytes are counted as they arrive, so a server
 * that never stops talking costs at most the cap, not the agent.
 */
import { ConfigError, SourceError } from '../errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Default of `source.maxFetchSize`: the largest pack one fetch accepts. */
export const DEFAULT_MAX_FETCH_BYTES = 512 * MiB;

/**
 * Fixed cap of a ref advertisement. A manifest repository advertises a few refs; 4 MiB holds
 * about 60,000 of them (a ref line is some 70 bytes).
 */
export const MAX_ADVERTISEMENT_BYTES = 4 * MiB;

const UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KiB, MiB, GiB };
const SIZE = /^(\d+)(B|KiB|MiB|GiB)?$/;

/**
 * Bytes of a size setting: a whole number of bytes (`1048576`) or a string with a binary unit
 * (`512MiB`, `64KiB`, `1GiB`, `100B`). Returns undefined when it is not one, is zero, or is too
 * large to count exactly.
 */
export function sizeBytes(value: string | number): number | undefined {
  const m = SIZE.exec(String(value));
  if (!m) return undefined;
  const bytes = Number(m[1]) * (UNITS[m[2] ?? ''] ?? 1);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/**
 * Bytes of a `source.maxFetchSize` setting, or {@link DEFAULT_MAX_FETCH_BYTES} when unset.
 * @throws {ConfigError} when it is not a size.
 */
export function maxFetchBytesOf(setting: string | number | undefined): number {
  if (setting === undefined) return DEFAULT_MAX_FETCH_BYTES;
  const bytes = sizeBytes(setting);
  if (bytes === undefined) throw new ConfigError(`source.maxFetchSize must be a size such as 512MiB, 64KiB or a number of bytes (got "${String(setting)}")`, { setting: 'source.maxFetchSize' });
  return bytes;
}

/** A size for people: `4 MiB`, `64 KiB`, `1.5 GiB`, or `1000 bytes`. */
export function formatSize(bytes: number): string {
  for (const [unit, n] of [['GiB', GiB], ['MiB', MiB], ['KiB', KiB]] as const) {
    if (bytes >= n) return `${Number((bytes / n).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** Which limit a response ran into. */
export type FetchLimit = 'advertisement' | 'pack';

/**
 * The error of a response that outgrew its limit: names the limit and what to change.
 * Its `data.limit` is the cap in bytes and `data.setting` the setting that sets it.
 */
export function limitError(url: string, which: FetchLimit, limit: number): SourceError {
  const what =
    which === 'pack'
      ? `the server sent more than ${formatSize(limit)} for one fetch (source.maxFetchSize); the fetch was stopped. Raise source.maxFetchSize if the repository really is that large`
      : `the ref advertisement is more than ${formatSize(limit)} (the fixed cap of a ref advertisement); the fetch was stopped. Is this a Git server, and does it really advertise that many refs?`;
  return new SourceError('other', `Git source ${url}: ${what}`, { url, limit, setting: which === 'pack' ? 'source.maxFetchSize' : null });
}

/**
 * Passes `body` through, counting bytes as they arrive; throws `onExceed()` (and stops reading,
 * which destroys the underlying response) as soon as more than `limit` bytes came.
 */
export async function* limitBody(body: AsyncIterable<Uint8Array>, limit: number, onExceed: () => Error): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.byteLength;
    if (seen > limit) throw onExceed();
    yield chunk;
  }
}

/**
 * Masks the values the shim resolved for `${VAR}` (in `spec.env` and `checkin.secret`) in what
 * the job prints, as CI systems mask their secrets: a job that echoes its token does not put it
 * in cron mail, the journal (embedded runs print into the daemon's output), the check-in's
 * `output` and `error_message`, or the spool. Matched on the bytes, also across chunks: a chunk
 * ending in the first bytes of a value keeps them back until the next chunk (or the end, or an
 * idle flush by the caller) tells. Linear in the output: each value is searched with indexOf
 * once per chunk, and what to keep back is found with a KMP automaton per value.
 */

/** What a masked value is replaced with. */
export const MASK = '[masked]';
const MASK_BYTES = Buffer.from(MASK);

/**
 * Shorter values are not masked: `${VAR}` also carries plain settings (`8080`, `prod`), and
 * masking every such word in the output would hide more than it protects.
 */
export const MIN_MASKED_LENGTH = 6;

/** One output stream's masker. */
export interface StreamMasker {
  /** The bytes of `chunk` (after any kept back) that can be written now, masked. */
  push(chunk: Buffer): Buffer;
  /** How many bytes are kept back (the start of a value, waiting for the next chunk). */
  held(): number;
  /** The bytes kept back, masked as they stand (at the stream's end, or after a pause). */
  end(): Buffer;
}

/** A value to mask, with its KMP failure table. */
interface Value {
  bytes: Buffer;
  /** fail[q]: the length of the longest proper prefix of bytes[0..q] that is also its suffix. */
  fail: Int32Array;
}

/**
 * A factory of stream maskers for `values` (those of at least {@link MIN_MASKED_LENGTH}
 * characters), or null when none is to be masked.
 */
export function createMasker(values: Iterable<string>): (() => StreamMasker) | null {
  // Longest first: of two values found at the same place, the longer is masked.
  const list = [...new Set(values)].filter((v) => v.length >= MIN_MASKED_LENGTH).map((v) => Buffer.from(v)).sort((a, b) => b.length - a.length).map(withFail);
  if (list.length === 0) return null;
  return () => {
    let carry: Buffer = Buffer.alloc(0);
    return {
      push(chunk) {
        const data = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
        const { out, keep } = mask(data, list, false);
        carry = data.subarray(keep);
        return out;
      },
      held: () => carry.length,
      end() {
        const { out } = mask(carry, list, true);
        carry = Buffer.alloc(0);
        return out;
      },
    };
  };
}

function withFail(bytes: Buffer): Value {
  const fail = new Int32Array(bytes.length);
  for (let i = 1, q = 0; i < bytes.length; i++) {
    while (q > 0 && bytes[i] !== bytes[q]) q = fail[q - 1]!;
    if (bytes[i] === bytes[q]) q++;
    fail[i] = q;
  }
  return { bytes, fail };
}

/**
 * `data` with every value masked that starts before `keep`: where the longest end of the data
 * that some value begins with starts (with `final`, nothing is kept back). A value that begins
 * before `keep` and ends in the data is masked whole; one cut by the end of the data waits, with
 * any shorter value inside it, so that however the bytes are cut the result is the same. Pure.
 */
function mask(data: Buffer, values: readonly Value[], final: boolean): { out: Buffer; keep: number } {
  const parts: Buffer[] = [];
  let pos = 0;
  let keep = final ? data.length : heldFrom(data, 0, values);
  // The next place each value is found at from `pos` (-1: nowhere; -2: not searched yet).
  const next = values.map(() => -2);
  for (;;) {
    let at = -1;
    let found: Value | undefined;
    for (let i = 0; i < values.length; i++) {
      if (next[i] === -2 || (next[i]! >= 0 && next[i]! < pos)) next[i] = data.indexOf(values[i]!.bytes, pos);
      if (next[i]! >= 0 && (at < 0 || next[i]! < at)) [at, found] = [next[i]!, values[i]];
    }
    if (found === undefined || at >= keep) break;
    parts.push(data.subarray(pos, at), MASK_BYTES);
    pos = at + found.bytes.length;
    // The value masked ran into what was kept back: what is kept back is looked for again after it.
    if (pos > keep) keep = final ? data.length : heldFrom(data, pos, values);
  }
  keep = Math.max(pos, keep);
  parts.push(data.subarray(pos, keep));
  return { out: parts.length === 1 ? parts[0]! : Buffer.concat(parts), keep };
}

/**
 * Where the longest end of `data` (from `from`) that is the beginning of a value, and not a
 * whole one, starts; data.length when there is none.
 */
function heldFrom(data: Buffer, from: number, values: readonly Value[]): number {
  let held = data.length;
  for (const { bytes, fail } of values) {
    // The longest beginning of the value that ends the data: a KMP run over the last bytes.
    let q = 0;
    for (let i = Math.max(from, data.length - bytes.length + 1); i < data.length; i++) {
      while (q > 0 && data[i] !== bytes[q]) q = fail[q - 1]!;
      if (data[i] === bytes[q]) q++;
      if (q === bytes.length) q = fail[q - 1]!;
    }
    if (q > 0) held = Math.min(held, data.length - q);
  }
  return held;
}

/**
 * Masks the values the shim resolved for `${VAR}` (in `spec.env` and `checkin.secret`) in what
 * the job prints, as CI systems mask their secrets: a job that echoes its token does not put it
 * in cron mail, the journal (embedded runs print into the daemon's output), the check-in's
 * `output` and `error_message`, or the spool. Matched on the bytes, also across chunks: a chunk
 * ending in the first bytes of a value keeps them back until the next chunk (or the end) tells.
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
  /** The bytes kept back, at the stream's end. */
  end(): Buffer;
}

/**
 * A factory of stream maskers for `values` (those of at least {@link MIN_MASKED_LENGTH}
 * characters), or null when none is to be masked.
 */
export function createMasker(values: Iterable<string>): (() => StreamMasker) | null {
  const secrets = [...new Set(values)].filter((v) => v.length >= MIN_MASKED_LENGTH).map((v) => Buffer.from(v)).sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return null;
  return () => {
    let carry: Buffer = Buffer.alloc(0);
    return {
      push(chunk) {
        const data = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
        const { out, keep } = mask(data, secrets);
        carry = data.subarray(keep);
        return out;
      },
      end() {
        // No more bytes to come: what was kept back is masked as it stands.
        const { out } = mask(carry, secrets, true);
        carry = Buffer.alloc(0);
        return out;
      },
    };
  };
}

/**
 * `data` masked up to `keep`, where a value may begin that the next bytes could complete (with
 * `final`, nothing is kept back). Pure.
 */
function mask(data: Buffer, secrets: readonly Buffer[], final = false): { out: Buffer; keep: number } {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    // The first value found from `pos`; of two at the same place, the longer (sorted first).
    let at = -1;
    let found: Buffer | undefined;
    for (const s of secrets) {
      const i = data.indexOf(s, pos);
      if (i >= 0 && (at < 0 || i < at)) [at, found] = [i, s];
    }
    if (found === undefined) break;
    // A longer value that the rest of the data begins: wait for the bytes that tell.
    if (!final && secrets.some((s) => s.length > data.length - at && startsWith(s, data.subarray(at)))) break;
    parts.push(data.subarray(pos, at), MASK_BYTES);
    pos = at + found.length;
  }
  const keep = final ? data.length : heldFrom(data, pos, secrets);
  parts.push(data.subarray(pos, keep));
  return { out: parts.length === 1 ? parts[0]! : Buffer.concat(parts), keep };
}

/** Where the longest end of `data` (from `pos`) that begins some value starts, else data.length. */
function heldFrom(data: Buffer, pos: number, secrets: readonly Buffer[]): number {
  const longest = secrets[0]!.length;
  for (let i = Math.max(pos, data.length - longest + 1); i < data.length; i++) {
    const rest = data.subarray(i);
    if (secrets.some((s) => s.length > rest.length && startsWith(s, rest))) return i;
  }
  return data.length;
}

const startsWith = (s: Buffer, head: Buffer): boolean => s.subarray(0, head.length).equals(head);

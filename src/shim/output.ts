/**
 * Output tail: keeps the last bytes a run printed and renders them as at most N characters,
 * cut on a character boundary, with a truncation notice.
 */

/** Longest `output` a check-in carries (SPEC §6). */
export const OUTPUT_MAX_CHARS = 10_000;
/** Longest `error_message` a check-in carries. */
export const ERROR_MAX_CHARS = 500;

/** TailBuffer keeps the last `capBytes` bytes pushed into it. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes ever pushed. */
  total = 0;

  /** @param capBytes bytes kept; 4 bytes per character covers any UTF-8 text. */
  constructor(private readonly capBytes = OUTPUT_MAX_CHARS * 4) {}

  /** Appends a chunk, dropping the oldest bytes beyond the cap. */
  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += b.length;
    this.chunks.push(b);
    this.size += b.length;
    while (this.chunks.length > 1 && this.size - (this.chunks[0] as Buffer).length >= this.capBytes) {
      this.size -= (this.chunks.shift() as Buffer).length;
    }
  }

  /** Renders the tail as at most `maxChars` UTF-16 units, never splitting a character. */
  text(maxChars = OUTPUT_MAX_CHARS): string {
    const { str, dropped } = this.decoded();
    if (dropped === 0 && str.length <= maxChars) return str;
    const notice = `[cronsync: output truncated, ${this.total} bytes in total; last characters follow]\n`;
    return notice + tailChars(str, Math.max(0, maxChars - notice.length));
  }

  /** The last `maxChars` UTF-16 units kept, without a truncation notice, never splitting a character. */
  last(maxChars: number): string {
    return tailChars(this.decoded().str, maxChars);
  }

  /** The bytes kept as text, and how many were dropped before them. */
  private decoded(): { str: string; dropped: number } {
    let buf = Buffer.concat(this.chunks);
    if (buf.length > this.capBytes) buf = buf.subarray(buf.length - this.capBytes);
    const dropped = this.total - buf.length;
    if (dropped > 0) {
      // Skip UTF-8 continuation bytes (10xxxxxx) of a character whose start was dropped.
      let i = 0;
      while (i < 3 && i < buf.length && ((buf[i] as number) & 0xc0) === 0x80) i++;
      buf = buf.subarray(i);
    }
    return { str: buf.toString('utf8'), dropped };
  }
}

/** The last `n` UTF-16 units of `s`, without a lone low surrogate at the start. Pure. */
export function tailChars(s: string, n: number): string {
  if (s.length <= n) return s;
  let out = s.slice(s.length - n);
  const first = out.charCodeAt(0);
  if (first >= 0xdc00 && first <= 0xdfff) out = out.slice(1);
  return out;
}

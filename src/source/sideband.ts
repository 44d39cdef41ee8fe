/**
 * An incremental reader of an upload-pack response (shallow lines, ACK/NAK, then the pack on
 * side-band 1), fed chunk by chunk as they arrive. It keeps only the pack bytes, and keeps them
 * as views of the received chunks rather than copies, so memory tracks the bytes received.
 */

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

/** Result of a pack request. */
export interface PackResponse {
  pack: Buffer;
  /** Commits the server marked shallow. */
  shallow: string[];
  unshallow: string[];
}

/** Pieces shorter than this are copied into a shared block instead of pinning their chunk. */
const SMALL = 16 * 1024;
const BLOCK = 64 * 1024;

/** Reads one upload-pack response; call {@link push} per chunk, then {@link end}. */
export class UploadPackReader {
  private readonly shallow: string[] = [];
  private readonly unshallow: string[] = [];
  private readonly pieces: Buffer[] = [];
  private block: Buffer | null = null;
  private blockUsed = 0;
  /** Bytes of the pkt-line header read so far (its 4 length digits). */
  private head = '';
  /** Payload bytes of the current pkt-line still to come. */
  private left = 0;
  /** The current pkt-line's band (1-3), or 0 for a text line, or -1 before its first byte. */
  private band = -1;
  /** Text of the current non-band pkt-line. */
  private text: Buffer[] = [];

  /**
   * Consumes one chunk of the response.
   * @throws {UploadPackError} on an `ERR` line, band-3 message or malformed pkt-line.
   */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < buf.length) {
      if (this.left === 0) {
        const take = Math.min(4 - this.head.length, buf.length - pos);
        this.head += buf.toString('latin1', pos, pos + take);
        pos += take;
        if (this.head.length < 4) break;
        const len = /^[0-9a-f]{4}$/i.test(this.head) ? Number.parseInt(this.head, 16) : Number.NaN;
        this.head = '';
        if (Number.isNaN(len) || (len > 0 && len < 4)) throw new UploadPackError('malformed pkt-line in upload-pack response', false);
        this.left = len === 0 ? 0 : len - 4;
        this.band = -1;
        continue;
      }
      if (this.band === -1) {
        const first = buf[pos] as number;
        this.band = first >= 1 && first <= 3 ? first : 0;
        if (this.band !== 0) {
          pos++;
          this.left--;
          if (this.left === 0) this.lineDone();
          continue;
        }
      }
      const take = Math.min(this.left, buf.length - pos);
      const part = buf.subarray(pos, pos + take);
      pos += take;
      this.left -= take;
      if (this.band === 1) this.keep(part);
      else if (this.band !== 2) this.text.push(Buffer.from(part));
      if (this.left === 0) this.lineDone();
    }
  }

  /**
   * Ends the response and returns the pack.
   * @throws {UploadPackError} when the response stopped inside a pkt-line or held no pack.
   */
  end(): PackResponse {
    if (this.left > 0 || this.head.length > 0) throw new UploadPackError('malformed pkt-line in upload-pack response', false);
    this.flushBlock();
    if (this.pieces.length === 0) throw new UploadPackError('upload-pack response holds no pack', false);
    return { pack: Buffer.concat(this.pieces), shallow: this.shallow, unshallow: this.unshallow };
  }

  private lineDone(): void {
    const band = this.band;
    const text = Buffer.concat(this.text).toString('utf8').trim();
    this.text = [];
    this.band = -1;
    if (band === 3) throw new UploadPackError(text, true);
    if (band !== 0) return;
    if (text.startsWith('ERR ')) throw new UploadPackError(text.slice(4), true);
    if (text.startsWith('shallow ')) this.shallow.push(text.slice(8));
    else if (text.startsWith('unshallow ')) this.unshallow.push(text.slice(10));
  }

  private keep(part: Buffer): void {
    if (part.length >= SMALL) {
      this.flushBlock();
      this.pieces.push(part);
      return;
    }
    // Many tiny pieces would each pin a chunk and a Buffer object: coalesce them.
    if (this.block && this.blockUsed + part.length > this.block.length) this.flushBlock();
    this.block ??= Buffer.allocUnsafe(BLOCK);
    part.copy(this.block, this.blockUsed);
    this.blockUsed += part.length;
  }

  private flushBlock(): void {
    if (this.block && this.blockUsed > 0) this.pieces.push(Buffer.from(this.block.subarray(0, this.blockUsed)));
    this.block = null;
    this.blockUsed = 0;
  }
}

/** Parses a whole upload-pack response held in memory. */
export function parseUploadPackResponse(buf: Buffer): PackResponse {
  const reader = new UploadPackReader();
  reader.push(buf);
  return reader.end();
}

/**
 * Counting the spool's drop record (`<stateDir>/spool-dropped.jsonl`, one JSON line per dropped
 * check-in) for the status file's `checkins.dropped`, which every sync writes. The record only
 * grows, by appends, and is kept whole (it is the audit trail of what was dropped): a host whose
 * check-in URL refuses every run of a per-minute job adds ~1,400 lines a day. So it is read in
 * fixed-size chunks, never as one string, and the counter remembers how far it has counted: the
 * next count (a daemon's next sync) reads only what was appended since. Opened without blocking
 * and checked on the open descriptor: a FIFO in its place cannot hang a sync.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { IoError, ioError } from '../errors.js';
import { fileKind, NotRegularFileError } from '../system/regular-file.js';

/** How much of the record is read at a time. */
const CHUNK_BYTES = 64 * 1024;

/** Counts the non-blank lines of one append-only file. */
export interface LineCounter {
  /** Non-blank lines of the file at `path` (0 when it does not exist). @throws {IoError} */
  count(path: string): number;
}

/** Where the last count stopped: after the last newline it read, in the file it read. */
interface Counted {
  path: string;
  dev: number;
  ino: number;
  /** Bytes up to and including the last newline counted. */
  offset: number;
  /** Non-blank lines before `offset`. */
  lines: number;
}

/**
 * A counter that goes on from where it stopped while the file is the same one (same device and
 * inode, not shorter than what was counted); a file replaced, truncated or removed is counted
 * from its start.
 */
export function createLineCounter(): LineCounter {
  let counted: Counted | undefined;
  return {
    count(path) {
      let fd: number;
      try {
        fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          counted = undefined;
          return 0;
        }
        throw ioError('read', path, err);
      }
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) throw ioError('read', path, new NotRegularFileError(fileKind(st)));
        const from = counted !== undefined && counted.path === path && counted.dev === st.dev && counted.ino === st.ino && counted.offset <= st.size ? counted : undefined;
        const result = countFrom(fd, from?.offset ?? 0, from?.lines ?? 0);
        counted = { path, dev: st.dev, ino: st.ino, offset: result.offset, lines: result.lines };
        return result.lines + (result.partial ? 1 : 0);
      } catch (err) {
        throw err instanceof IoError ? err : ioError('read', path, err);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Reads `fd` from byte `offset` to its end: the lines up to its last newline, and whether a non-blank line without one follows. */
function countFrom(fd: number, offset: number, lines: number): { offset: number; lines: number; partial: boolean } {
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let pos = offset;
  let blank = true;
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK_BYTES, pos);
    if (n === 0) break;
    for (let start = 0; start < n;) {
      const nl = buf.indexOf(0x0a, start);
      const end = nl < 0 || nl >= n ? n : nl;
      if (blank) blank = isBlank(buf, start, end);
      if (end === n) break;
      if (!blank) lines++;
      blank = true;
      offset = pos + nl + 1;
      start = nl + 1;
    }
    pos += n;
  }
  return { offset, lines, partial: !blank };
}

/** True when bytes [start, end) of `buf` are all ASCII white space. */
function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0b && b !== 0x0c) return false;
  }
  return true;
}

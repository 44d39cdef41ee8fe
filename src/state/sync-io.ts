/**
 * Synchronous state-dir I/O for `cronsync exec`, which every scheduled run starts: atomic
 * writes, tolerant reads and random ids, without `node:fs/promises` (src/system/files.ts) or
 * `node:crypto`, whose loading costs each run more than the few small files it touches.
 * Random bytes come from /dev/urandom, the kernel CSPRNG that node:crypto also draws from;
 * where it does not exist (Windows) from Web Crypto.
 */
import { closeSync, fchmodSync, fstatSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ioError } from '../errors.js';
import { nodePlatform, type Platform } from '../system/platform.js';
import { makeDirSync, readRegularFileSync } from '../system/regular-file.js';
import { renameRetrySync } from '../system/rename.js';

/** Bytes drawn from /dev/urandom at a time: a run needs about 60 (its id and a few temp names). */
const POOL_SIZE = 256;
let pool: Buffer | undefined;
let poolAt = POOL_SIZE;

/**
 * `n` cryptographically random bytes. From /dev/urandom by default, through a pool of
 * {@link POOL_SIZE} bytes, so that a run opens the device once rather than once per id or temp
 * name (node:crypto pools its random UUIDs the same way); every byte is handed out once.
 * `source` is for tests: read directly, no pool.
 */
export function randomBytesSync(n: number, source?: string): Buffer {
  if (source !== undefined || n > POOL_SIZE) return readRandom(n, source ?? '/dev/urandom');
  if (pool === undefined || poolAt + n > POOL_SIZE) {
    pool = readRandom(POOL_SIZE, '/dev/urandom');
    poolAt = 0;
  }
  const out = Buffer.from(pool.subarray(poolAt, poolAt + n));
  // Handed out bytes are wiped: a later reader of the pool cannot learn what an earlier caller got.
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

function readRandom(n: number, source: string): Buffer {
  const buf = Buffer.alloc(n);
  let fd: number | undefined;
  try {
    fd = openSync(source, 'r');
    // A plain file in its place (a chroot without /dev, a copy) would give the same bytes every time.
    if (!fstatSync(fd).isCharacterDevice()) throw new Error('not a character device');
    let got = 0;
    while (got < n) {
      const r = readSync(fd, buf, got, n - got, null);
      if (r <= 0) throw new Error('short read');
      got += r;
    }
    return buf;
  } catch {
    return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(n)));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `n` random bytes as lower-case hex. */
export function randomHex(n: number): string {
  return randomBytesSync(n).toString('hex');
}

/** A random RFC 4122 version 4 UUID, as crypto.randomUUID() makes. */
export function randomUuid(): string {
  const b = randomBytesSync(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Writes `data` to `path` atomically (temp file in the same directory, optional fsync of the
 * data and the directory, rename), creating parent directories with mode 0700. The file gets
 * exactly `mode`. Same contract as the asynchronous atomicWriteFile of src/system/files.ts.
 * @throws {IoError} when the file cannot be written.
 */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode: number, fsync = true, platform: Platform = nodePlatform): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomHex(6)}.tmp`);
  try {
    makeDirSync(dir, 0o700);
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeAllSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fchmodSync(fd, mode);
      if (fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameRetrySync(tmp, path, { win: platform.kind === 'win32' });
    // Windows cannot open a directory for fsync; NTFS journals the rename itself.
    if (fsync && platform.kind !== 'win32') {
      const dfd = openSync(dir, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    }
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Never created.
    }
    throw ioError('write', path, err);
  }
}

/**
 * Writes all of `data` to `fd`. write(2) may store only part of it (a nearly full disk, a file
 * size limit) and report how much: the rest is written again, so that the error of a write that
 * cannot go on is thrown instead of a truncated file being renamed into place.
 */
export function writeAllSync(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.byteLength;) {
    const n = writeSync(fd, data, off, data.byteLength - off);
    if (n <= 0) throw new Error('write made no progress');
    off += n;
  }
}

/**
 * Reads a file as UTF-8, or null when it does not exist. Only a regular file is read: a FIFO in
 * its place (a snapshot, `sources.json`, the batch file) would block the sync or the run for
 * ever. @throws {IoError} on other errors, "not a regular file (a FIFO)" among them.
 */
export function readFileOrNullSync(path: string): string | null {
  try {
    return readRegularFileSync(path).data.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read', path, err);
  }
}

/** Deletes a file; false when it did not exist. @throws {IoError} on other errors. */
export function removeFileSync(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError('delete', path, err);
  }
}

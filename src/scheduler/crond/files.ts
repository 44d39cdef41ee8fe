/**
 * File port of the cron.d adapter, split at the rename so a crash between writing the temp
 * file and renaming it can be tested. Temp names start with a dot: cron ignores them.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { IoError, ioError } from '../../errors.js';

/** CronDirFs is what the cron.d adapter does to the file system. */
export interface CronDirFs {
  /**
   * File content, or null when missing or not a regular file (a directory, a FIFO, a device:
   * never opened for a blocking read). @throws {CronFileTooLarge} past {@link MAX_CRON_FILE_BYTES}
   */
  read(path: string): Promise<string | null>;
  /**
   * The same as bytes, for a reader that tells an unchanged file by its bytes (Buffer#equals)
   * without decoding it; absent in fakes, which are read as text. With `into`, a file that fits
   * is read into it and the result is a view of it, valid until `into` is used again.
   */
  readBytes?(path: string, into?: Buffer): Promise<Buffer | null>;
  /** Names in a directory ([] when missing). */
  list(dir: string): Promise<string[]>;
  /** Writes a new temp file in `dir` (mode exact, fsynced) and returns its path; text as UTF-8. */
  writeTemp(dir: string, base: string, data: string | Uint8Array, mode: number): Promise<string>;
  /** Renames within one directory (atomic) and fsyncs the directory. */
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Mode bits and owner of a file, or null when missing. */
  stat(path: string): Promise<{ mode: number; uid: number } | null>;
}

/**
 * The largest cron.d file read, in bytes. Ours hold at most 10,000 lines (Debian cron ignores a
 * longer file, see MAX_LINES in render.ts) of about 500 bytes per entry: a full file is about
 * 1.6 MiB. A bigger file is no cron table we wrote, and reading it whole each sync would cost
 * its size in memory (a sparse file can claim any size): see {@link CronFileTooLarge}.
 */
export const MAX_CRON_FILE_BYTES = 16 * 1024 * 1024;

/**
 * The IoError of a file in the cron dir of more than {@link MAX_CRON_FILE_BYTES}; its data
 * carries `tooLarge: true` and the size seen. Nothing of it was parsed.
 */
export class CronFileTooLarge extends IoError {
  constructor(readonly path: string, readonly size: number) {
    super(`Cannot read ${path}: ${size} bytes, more than the ${MAX_CRON_FILE_BYTES} bytes a cron.d file of cronsync can hold; move it out of the cron dir or shorten it`, { path, size, tooLarge: true });
  }
}

/** Null when opening `path` failed because it is missing (no file to read). @throws {IoError} otherwise */
function noFile(path: string, err: unknown): null {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw ioError('read', path, err);
}

/**
 * A file's bytes, or null when it is missing or not a regular file (a directory, a FIFO, a
 * socket, a device). Such a file is never opened, and what is opened is opened with O_NONBLOCK
 * and checked again on the descriptor (it may have been replaced), so a FIFO put in the cron dir
 * never blocks the agent and /dev/zero (or a link to it) is never read; Debian's cron skips
 * such files too ("NOT A REGULAR FILE").
 *
 * With `into`, a file that fits (with a byte to spare, to see its end) is read into it and the
 * result is a view of it. Reading into memory already in use spares a re-sync the page faults
 * of a fresh buffer per read (the cron.d file of 2,500 jobs is 1.2 MiB, read twice per sync).
 * @throws {CronFileTooLarge} past {@link MAX_CRON_FILE_BYTES}, found before reading or while
 * reading (a file that grows); {@link IoError} when it cannot be opened or read.
 */
async function readBytes(path: string, into?: Buffer): Promise<Buffer | null> {
  let fh: FileHandle;
  try {
    // Not even opened unless it is a regular file: opening a device can act on it.
    if (!(await stat(path)).isFile()) return null;
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return noFile(path, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return null;
    if (st.size > MAX_CRON_FILE_BYTES) throw new CronFileTooLarge(path, st.size);
    let buf = into && into.length > st.size ? into : Buffer.allocUnsafe(st.size + 1);
    // To the end, the file may have grown since fstat, but never past the limit.
    for (let n = 0; ;) {
      if (n === buf.length) {
        if (n > MAX_CRON_FILE_BYTES) throw new CronFileTooLarge(path, n);
        const grown = Buffer.allocUnsafe(Math.min(2 * n, MAX_CRON_FILE_BYTES + 1));
        buf.copy(grown, 0, 0, n);
        buf = grown;
      }
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) return buf.subarray(0, n);
      n += bytesRead;
    }
  } catch (err) {
    if (err instanceof IoError) throw err;
    throw ioError('read', path, err);
  } finally {
    await fh.close();
  }
}

/** nodeCronDirFs is the real file system. */
export const nodeCronDirFs: CronDirFs = {
  async read(path) {
    const bytes = await readBytes(path);
    // Decoded from one buffer: one flat string (see readFileIfExists in system/files.ts).
    return bytes === null ? null : bytes.toString('utf8');
  },
  readBytes,
  async list(dir) {
    try {
      return await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError('list', dir, err);
    }
  },
  async writeTemp(dir, base, data, mode) {
    const tmp = join(dir, `.${base}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fh = await open(tmp, 'wx', mode);
      try {
        await fh.writeFile(data);
        await fh.chmod(mode); // exact mode whatever the umask: cron skips group/other-writable files
        await fh.sync();
      } finally {
        await fh.close();
      }
      return tmp;
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw ioError('write', tmp, err);
    }
  },
  async rename(from, to) {
    try {
      await rename(from, to);
      const dir = await open(join(to, '..'), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      throw ioError('rename', to, err);
    }
  },
  async remove(path) {
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw ioError('delete', path, err);
    });
  },
  async stat(path) {
    try {
      const s = await stat(path);
      return { mode: s.mode & 0o7777, uid: s.uid };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError('stat', path, err);
    }
  },
};

/**
 * File port of the cron.d adapter, split at the rename so a crash between writing the temp
 * file and renaming it can be tested. Temp names start with a dot: cron ignores them.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { IoError, ioError } from '../../errors.js';

/** CronDirFs is what the cron.d adapter does to the file system. */
export interface CronDirFs {
  /** File content, or null when missing or not a file (a directory). */
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

/** Null when reading `path` failed because it is missing or a directory (no file to read). @throws {IoError} otherwise */
function noFile(path: string, err: unknown): null {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EISDIR') return null;
  throw ioError('read', path, err);
}

/** A file's bytes, or null when missing or not a file (a directory). @throws {IoError} */
async function readBytes(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    return noFile(path, err);
  }
}

/**
 * A file's bytes read into `into` when they fit (a view of it), else as readBytes does. Reading
 * into memory already in use spares a re-sync the page faults of a fresh buffer per read (the
 * cron.d file of 2,500 jobs is 1.2 MiB, read twice per sync).
 */
async function readBytesInto(path: string, into?: Buffer): Promise<Buffer | null> {
  if (!into) return readBytes(path);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    return noFile(path, err);
  }
  try {
    for (let n = 0; ;) {
      // Full: the file may be longer; read it whole into a buffer of its own.
      if (n === into.length) return await readBytes(path);
      const { bytesRead } = await fh.read(into, n, into.length - n, n);
      if (bytesRead === 0) return into.subarray(0, n);
      n += bytesRead;
    }
  } catch (err) {
    if (err instanceof IoError) throw err;
    return noFile(path, err);
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
  readBytes: readBytesInto,
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

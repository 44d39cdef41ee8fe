/**
 * Small file-system helpers shared by every writer of the state dir: atomic writes and
 * tolerant reads. Node implementations only; callers stay pure. (The synchronous versions for
 * the short-lived `cronsync exec` are in src/state/sync-io.ts.)
 */
import { randomBytes } from 'node:crypto';
// node:fs's `promises`, read at each call: node:fs/promises loads a dozen internal modules
// (readline among them, ~1 ms), which `cronsync exec`, whose bundle includes this file, never uses.
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { IoError, ioError } from '../errors.js';
import { makeDirSync } from './regular-file.js';
import { renameRetry } from './rename.js';

/** Options of {@link atomicWriteFile}. */
export interface AtomicWriteOptions {
  /**
   * fsync the data before the rename and the directory after it (default true). Turning it off
   * keeps atomicity and survives a crash of the process, but not of the machine.
   */
  fsync?: boolean;
  /**
   * Batch the directory fsync: add the directory to this set instead of syncing it, and let the
   * caller run {@link syncDirs} once after many writes (each rename is durable only after it).
   */
  deferDirSync?: Set<string>;
}

/**
 * Writes `data` to `path` atomically: a temp file in the same directory, fsync, rename.
 * Readers see either the old or the new content, never a partial file. Parent directories
 * are created (mode 0700 unless they exist) by makeDirSync, which fails fast on a path that
 * cannot exist.
 * @throws {IoError} when the file cannot be written.
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array, mode: number, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const sync = options.fsync !== false;
  try {
    makeDirSync(dir, 0o700);
    const fh = await fsp.open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      // open() applies the umask; chmod makes the mode exact (0644 status, 0600 spool).
      await fh.chmod(mode);
      if (sync) await fh.sync();
    } finally {
      await fh.close();
    }
    await renameRetry(tmp, path);
    if (sync && options.deferDirSync) options.deferDirSync.add(dir);
    else if (sync) await syncDir(dir);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw ioError('write', path, err);
  }
}

/** fsyncs each directory once: makes the renames of deferred atomic writes durable. @throws {IoError} */
export async function syncDirs(dirs: Iterable<string>): Promise<void> {
  for (const dir of dirs) {
    try {
      await syncDir(dir);
    } catch (err) {
      throw new IoError(`Cannot sync directory ${dir}: ${(err as Error).message}`, { path: dir }, { cause: err });
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  // Directory fsync makes the rename durable; not supported on Windows, where it is skipped.
  if (process.platform === 'win32') return;
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Reads a file's bytes, or returns null when it does not exist.
 * @throws {IoError} on any other read error.
 */
export async function readBytesIfExists(path: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read', path, err);
  }
}

/**
 * Reads a file as UTF-8 in one flat string, or returns null when it does not exist.
 * `readFile(path, 'utf8')` of node:fs/promises decodes chunk by chunk and joins the pieces, and
 * comparing such a string (as a sync compares the cron.d file and the status file with what it
 * would write) first copies it whole: ~6 ms for 1 MiB, against 0.1 ms for the text decoded from
 * one buffer.
 * @throws {IoError} on any other read error.
 */
export async function readFileIfExists(path: string): Promise<string | null> {
  return (await readBytesIfExists(path))?.toString('utf8') ?? null;
}

/** Deletes a file; returns false when it did not exist. @throws {IoError} on other errors. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await fsp.unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError('delete', path, err);
  }
}


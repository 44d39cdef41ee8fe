/**
 * File port of the systemd adapter: the cron.d adapter's atomic writes (temp file with a dot
 * in its name, fsync, rename, fsync of the directory), plus creating the unit directory
 * (`~/.config/systemd/user` may not exist yet) and reading a unit name without following a
 * symbolic link. systemd loads only names with a unit suffix, so a temp file
 * (`.cronsync-….timer.<hex>.tmp`) is never read as a unit.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { nodeCronDirFs } from '../crond/files.js';
import type { CronDirFs } from '../crond/files.js';
import { ioError } from '../../errors.js';
import { fileKind, makeDirSync } from '../../system/regular-file.js';

/**
 * What is at a unit file's name, the name itself never followed: a regular file's text, a
 * symbolic link (`systemctl mask` links to /dev/null; an alias links to another unit), or
 * anything else (`what`: "a directory", "a FIFO", …, or a file too large to be a unit of ours).
 */
export type UnitFileRead =
  | { kind: 'file'; text: string }
  | { kind: 'symlink'; target: string }
  | { kind: 'other'; what: string };

/** The largest unit file read, in bytes; a bigger one is no unit cronsync wrote. */
export const MAX_UNIT_FILE_BYTES = 16 * 1024 * 1024;

/** What the systemd adapter does to the file system. */
export interface UnitDirFs extends CronDirFs {
  /** Creates a directory and its parents (mode 0755); no error when it exists. */
  ensureDir(dir: string): Promise<void>;
  /** What is at `path` (see {@link UnitFileRead}); null when nothing is. @throws {IoError} */
  readUnit(path: string): Promise<UnitFileRead | null>;
}

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Reads a unit name. A regular file is opened with O_NOFOLLOW and O_NONBLOCK and checked again
 * on the descriptor, so a link or FIFO put in its place since the lstat is never read through.
 */
async function readUnit(path: string): Promise<UnitFileRead | null> {
  const link = async (): Promise<UnitFileRead | null> => {
    try {
      return { kind: 'symlink', target: await readlink(path) };
    } catch (err) {
      if (missing(err)) return null;
      throw ioError('read', path, err);
    }
  };
  let fh: FileHandle;
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) return await link();
    if (!st.isFile()) return { kind: 'other', what: fileKind(st) };
    fh = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    if (missing(err)) return null;
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return link();
    throw ioError('read', path, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { kind: 'other', what: fileKind(st) };
    if (st.size > MAX_UNIT_FILE_BYTES) return { kind: 'other', what: `a file of ${st.size} bytes` };
    return { kind: 'file', text: (await fh.readFile()).toString('utf8') };
  } catch (err) {
    throw ioError('read', path, err);
  } finally {
    await fh.close();
  }
}

/** The real file system. */
export const nodeUnitDirFs: UnitDirFs = {
  ...nodeCronDirFs,
  async ensureDir(dir) {
    // Not mkdir's recursive mode, which never returns under /proc (see makeDirSync).
    makeDirSync(dir, 0o755);
  },
  readUnit,
};

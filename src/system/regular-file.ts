/**
 * File-system calls that must not block or hang, whatever the path points at. Reading a file
 * that must be a regular file (a config, a secret, a password file): it is checked on the open
 * descriptor, so the file read is the file checked, and opened with O_NONBLOCK, so a FIFO put
 * in its place cannot block the process and a device such as /dev/zero is refused before any
 * read. Creating directories: one component at a time, so a path that cannot exist fails at
 * once. No heavy imports: `cronsync exec` uses it.
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { IoError } from '../errors.js';

/** What a non-regular file is, for messages: "a FIFO", "a directory", … */
export function fileKind(st: Pick<Stats, 'isDirectory' | 'isFIFO' | 'isSocket' | 'isBlockDevice' | 'isCharacterDevice'>): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Error of {@link readRegularFileSync} for a path that is not a regular file: code ENOTREG. */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREG';
  constructor(readonly kind: string) {
    super(`not a regular file (${kind})`);
  }
}

/** Options of {@link readRegularFileSync}. */
export interface ReadRegularOptions {
  /** Read at most this many bytes plus one, so that callers can tell a file over the limit. */
  maxBytes?: number;
  /** Checks on the open file's stats before reading (e.g. permission bits); may throw. */
  check?: (st: Stats) => void;
}

/**
 * The bytes of `path` and the stats of the file read.
 * @throws {NotRegularFileError} for a FIFO, directory, socket or device; the system error
 * (ENOENT, EACCES, …) when it cannot be opened; whatever `check` throws.
 */
export function readRegularFileSync(path: string | Buffer, options: ReadRegularOptions = {}): { data: Buffer; stat: Stats } {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new NotRegularFileError(fileKind(stat));
    options.check?.(stat);
    const limit = options.maxBytes === undefined ? stat.size : Math.min(stat.size, options.maxBytes) + 1;
    const chunks: Buffer[] = [];
    let total = 0;
    // Read to the end (a file may grow after fstat), never past the limit.
    for (;;) {
      const buf = Buffer.alloc(Math.max(64 * 1024, limit - total));
      const room = options.maxBytes === undefined ? buf.length : Math.min(buf.length, options.maxBytes + 1 - total);
      if (room <= 0) break;
      const got = readSync(fd, buf, 0, room, null);
      if (got === 0) break;
      chunks.push(buf.subarray(0, got));
      total += got;
    }
    return { data: Buffer.concat(chunks, total), stat };
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates `path` and its missing parents with `mode` (existing ones are left as they are), or
 * throws at once when it cannot. Node 20's `mkdir(path, { recursive: true })` never returns
 * for a path under a directory that reports ENOENT for new entries (`/proc/1/nope`): it
 * creates the parent again and again. Here the nearest existing ancestor is found first, then
 * each missing component is created once: at most one mkdir per component.
 * @returns the first directory it created, as `mkdirSync(path, { recursive: true })` does;
 * undefined when `path` existed.
 * @throws {IoError} naming the directory and why, when a component is not a directory or
 * cannot be created.
 */
export function makeDirSync(path: string, mode = 0o700): string | undefined {
  const target = resolve(path);
  const missing: string[] = [];
  for (let dir = target; ; dir = dirname(dir)) {
    let st: Stats | undefined;
    try {
      st = statSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || dirname(dir) === dir) throw dirError(target, dir, err);
    }
    if (st) {
      if (!st.isDirectory()) throw dirError(target, dir, new Error(`${dir} is ${st.isFile() ? 'a file' : fileKind(st)}`));
      break;
    }
    missing.push(dir);
  }
  let first: string | undefined;
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, { mode });
      first ??= dir;
    } catch (err) {
      // Created meanwhile by another process: fine if it is a directory.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw dirError(target, dir, err, (err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (its parent ${dirname(dir)} exists but does not accept new entries)` : '');
    }
  }
  return first;
}

function dirError(target: string, at: string, err: unknown, hint = ''): IoError {
  const why = (err as Error).message;
  return new IoError(`Cannot create directory ${target}${at === target ? '' : ` (at ${at})`}: ${why}${hint}`, { path: target, at }, { cause: err });
}

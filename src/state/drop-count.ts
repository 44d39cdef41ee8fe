/**
 * The spool's drop record (`<stateDir>/spool-dropped.jsonl`, one JSON line per dropped check-in):
 * appending to it, rotating it, and counting it for the status file's `checkins.dropped`, which
 * every sync writes. A host whose check-in URL refuses every run of a per-minute job adds ~1,400
 * lines a day, and a long outage of a busy host many more, so the record is rotated as logrotate
 * would: once it reaches {@link DROP_RECORD_MAX_BYTES} it is renamed to `spool-dropped.jsonl.1`,
 * replacing the older one, whose lines are first added to the running total kept in
 * `spool-dropped.count`. The count is that total plus the lines of the two files, so it only
 * grows, also across a rotation and a restart.
 *
 * Files are read in fixed-size chunks, never as one string, and each counter remembers how far it
 * has counted: the next count (a daemon's next sync) reads only what was appended since. Opened
 * without blocking and checked on the open descriptor: a FIFO in the record's place can hang
 * neither a sync nor a run's append.
 *
 * Writers never wait for each other: each append is one O_APPEND write. Rotations take a lock
 * (`spool-dropped.lock`, see src/shim/lock.ts) and are two steps, each atomic, and any state
 * between them counts the same: (1) the total file is replaced with the total including the old
 * `.1`, naming that file by device and inode ("folded": not counted again while it is still
 * there); (2) the record is renamed onto `.1`. A reader that saw either file change while it
 * counted counts again.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { IoError, ioError } from '../errors.js';
import { selfIdentity, tryAcquireLock } from '../shim/lock.js';
import { nodePlatform } from '../system/platform.js';
import type { Platform } from '../system/platform.js';
import { fileKind, makeDirSync, NotRegularFileError, readRegularFileSync } from '../system/regular-file.js';
import { renameRetrySync } from '../system/rename.js';
import { writeFileAtomicSync } from './sync-io.js';

/** The drop record of the spool, one JSON line per dropped check-in. */
export const DROPPED_FILE = 'spool-dropped.jsonl';
/** The record's previous generation, replaced at each rotation. */
export const DROPPED_ROTATED_FILE = `${DROPPED_FILE}.1`;
/** Lines of the generations that rotations deleted: `{ version: 1, carried, folded }`. */
export const DROPPED_COUNT_FILE = 'spool-dropped.count';
/** Taken by the one process that rotates the record. */
const ROTATE_LOCK_FILE = 'spool-dropped.lock';

/** Size at which the record is rotated: about 10,000 drops. */
export const DROP_RECORD_MAX_BYTES = 1024 * 1024;
/**
 * How long `.1` must have gone unwritten before it is replaced. An appender that opened the
 * record just before it was renamed writes into `.1`; such a write (counted while `.1` is there)
 * would be lost with it. A process stalled for this long between its open and its write is the
 * race left.
 */
export const DROP_RECORD_SETTLE_MS = 1000;

/** Options of the drop record's writes. */
export interface DropRecordOptions {
  /** [DROP_RECORD_MAX_BYTES] */
  maxBytes?: number;
  /** [DROP_RECORD_SETTLE_MS] */
  settleMs?: number;
  /** Lock identity and liveness, how files are replaced [nodePlatform]. */
  platform?: Platform;
}

/**
 * Appends `text` (whole lines) to the drop record of state dir `dir` in one O_APPEND write, then
 * rotates the record when it has reached its size. A rotation that cannot be made now (another
 * process rotates, `.1` was just written, an I/O error) is tried again at the next append.
 * @throws {IoError} naming the record when it cannot be written.
 */
export async function appendDropRecord(dir: string, text: string, o: DropRecordOptions = {}): Promise<void> {
  const file = join(dir, DROPPED_FILE);
  let size: number;
  try {
    makeDirSync(dir, 0o700);
    const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NONBLOCK ?? 0), 0o644);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new NotRegularFileError(fileKind(st));
      const buf = Buffer.from(text);
      for (let at = 0; at < buf.length;) at += writeSync(fd, buf, at, buf.length - at);
      size = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw err instanceof IoError ? err : ioError('write', file, err);
  }
  if (size < (o.maxBytes ?? DROP_RECORD_MAX_BYTES)) return;
  try {
    await rotateDropRecord(dir, o);
  } catch {
    // The record stays whole and counted; the next append tries again.
  }
}

/**
 * Rotates the drop record of `dir` if it has reached its size; false when it was not rotated.
 * @throws {IoError} when a file cannot be read or written.
 */
export async function rotateDropRecord(dir: string, o: DropRecordOptions = {}): Promise<boolean> {
  const platform = o.platform ?? nodePlatform;
  const file = join(dir, DROPPED_FILE);
  const rotated = join(dir, DROPPED_ROTATED_FILE);
  const held = await tryAcquireLock(join(dir, ROTATE_LOCK_FILE), { ...selfIdentity(platform), runId: 'rotate', startedAt: new Date().toISOString() }, { platform });
  if (!held.acquired) return false;
  try {
    // Under the lock: another process may have rotated it since this one appended.
    const cur = stat(file);
    if (cur === undefined || !cur.isFile() || Number(cur.size) < (o.maxBytes ?? DROP_RECORD_MAX_BYTES)) return false;
    const old = stat(rotated);
    const total = readTotal(dir);
    if (old !== undefined && !sameFile(total.folded, old)) {
      if (Date.now() - Number(old.mtimeMs) < (o.settleMs ?? DROP_RECORD_SETTLE_MS)) return false;
      const lines = createLineCounter().count(rotated);
      const now = stat(rotated);
      // Written while it was counted: its last lines would be lost with it.
      if (now === undefined || !sameFile(identity(old), now) || now.size !== old.size || now.mtimeMs !== old.mtimeMs) return false;
      const next: DropTotal = { version: 1, carried: total.carried + lines, folded: identity(old) };
      writeFileAtomicSync(join(dir, DROPPED_COUNT_FILE), `${JSON.stringify(next)}\n`, 0o644, true, platform);
    }
    try {
      renameRetrySync(file, rotated, { win: platform.kind === 'win32' });
    } catch (err) {
      throw ioError('rotate', file, err);
    }
    return true;
  } finally {
    await held.lock.release();
  }
}

/** Counts dropped check-ins ever recorded in one state dir. */
export interface DropCounter {
  /** The running total plus the lines of `.1` and of the record. @throws {IoError} naming the file that cannot be read. */
  count(): number;
}

/** Rounds of counting before a reader that saw a rotation every time gives up. */
const COUNT_ROUNDS = 5;

/** The counter of state dir `dir`'s drop record, going on from where its last count stopped. */
export function createDropCounter(dir: string): DropCounter {
  const file = join(dir, DROPPED_FILE);
  const rotated = join(dir, DROPPED_ROTATED_FILE);
  const totalFile = join(dir, DROPPED_COUNT_FILE);
  const current = createLineCounter();
  const previous = createLineCounter();
  const seen = (): string => [stat(totalFile), stat(rotated)].map((s) => (s ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}` : '-')).join(' ');
  return {
    count() {
      for (let round = 0; round < COUNT_ROUNDS; round++) {
        const before = seen();
        const total = readTotal(dir);
        const old = stat(rotated);
        const lines = total.carried + (old !== undefined && !sameFile(total.folded, old) ? previous.count(rotated) : 0) + current.count(file);
        // A rotation step between the reads would count lines twice or not at all.
        if (seen() === before) return lines;
      }
      throw new IoError(`Cannot count ${file}: it was rotated during each of ${COUNT_ROUNDS} counts`, { path: file });
    },
  };
}

/** Content of {@link DROPPED_COUNT_FILE}. */
interface DropTotal {
  version: 1;
  /** Lines of the generations deleted by rotations. */
  carried: number;
  /** The `.1` whose lines `carried` includes. */
  folded: FileId | null;
}
/**
 * A file by device and inode, as decimal strings: Windows' file ids (NTFS keeps a sequence number
 * in their top bits, ReFS ids are 128-bit) do not fit a JavaScript number.
 */
type FileId = { dev: string; ino: string };

function identity(st: BigIntStats): FileId {
  return { dev: String(st.dev), ino: String(st.ino) };
}

function sameFile(id: FileId | null, st: BigIntStats | FileId): boolean {
  return id !== null && id.dev === String(st.dev) && id.ino === String(st.ino);
}

function stat(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false, bigint: true });
  } catch (err) {
    throw ioError('read', path, err);
  }
}

/** A device or inode number as written in the total: a decimal string (numbers from earlier builds are taken too). */
function idPart(v: unknown): string | undefined {
  if (typeof v === 'string' && /^\d{1,40}$/.test(v)) return v;
  return Number.isSafeInteger(v) && (v as number) >= 0 ? String(v) : undefined;
}

/** The running total; zero when there is no total file. @throws {IoError} when it cannot be read or is damaged. */
function readTotal(dir: string): DropTotal {
  const path = join(dir, DROPPED_COUNT_FILE);
  let text: string;
  try {
    text = readRegularFileSync(path, { maxBytes: 4096 }).data.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, carried: 0, folded: null };
    throw ioError('read', path, err);
  }
  let v: Partial<DropTotal> | null = null;
  try {
    v = JSON.parse(text) as Partial<DropTotal> | null;
  } catch {
    // Damaged: below.
  }
  const raw = v?.folded as { dev?: unknown; ino?: unknown } | null | undefined;
  const folded = raw === null ? null : { dev: idPart(raw?.dev), ino: idPart(raw?.ino) };
  if (v?.version !== 1 || !Number.isSafeInteger(v.carried) || (v.carried as number) < 0 || (folded !== null && (folded.dev === undefined || folded.ino === undefined))) {
    // Never guessed: a total made up here would make `checkins.dropped` go down or jump.
    throw new IoError(`Cannot read ${path}: it is damaged (not a running total of dropped check-ins)`, { path });
  }
  return { version: 1, carried: v.carried as number, folded: folded === null ? null : { dev: folded.dev!, ino: folded.ino! } };
}

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
  /** The file's device and inode (strings: see {@link FileId}). */
  id: FileId;
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
        const st = fstatSync(fd, { bigint: true });
        if (!st.isFile()) throw ioError('read', path, new NotRegularFileError(fileKind(st)));
        const from = counted !== undefined && counted.path === path && sameFile(counted.id, st) && counted.offset <= Number(st.size) ? counted : undefined;
        const result = countFrom(fd, from?.offset ?? 0, from?.lines ?? 0);
        counted = { path, id: identity(st), offset: result.offset, lines: result.lines };
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

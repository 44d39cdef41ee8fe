/** Reading and writing `<stateDir>/status.json` (atomic, mode 0644, no secrets). */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CronsyncError, ioError } from '../errors.js';
import { sameStrings } from '../memo.js';
import { atomicWriteFile } from '../system/files.js';
import { fileKind } from '../system/regular-file.js';
import type * as Schema from './schema.js';
import type { StatusFile, StatusJob } from './types.js';

/** Path of the status file in a state dir. */
export function statusPath(stateDir: string): string {
  return join(stateDir, 'status.json');
}

/**
 * The status file as this process last wrote or read it, by path: its text (as the pieces it was
 * written from, see {@link statusParts}), the identity of the file that held it (inode, size,
 * change and modification times in ns), and once read, its parse. A sync compares its next text
 * with the file; with 10,000 jobs that is 1.3 MiB read each time, and parsed when an earlier
 * status is needed. While the file keeps that identity, neither is done again: the pieces are
 * compared (an unchanged job's line is the same string). Any other writer (the daemon adding its
 * Crontopus block, a hand edit, another process) changes the identity (a rewrite in place to the
 * same size within one kernel clock tick of ours would not, on kernels without fine-grained
 * timestamps: it is seen at the next change).
 */
const known = new Map<string, { id: string; parts: readonly string[]; parsed?: StatusFile }>();

/**
 * The buffer each status path's text is encoded into, reused by every write. A status of 10,000
 * jobs is 1.3 MiB; made as a new string and then a new buffer after every sync, each costs the
 * page faults of fresh memory (~4 ms each here), where encoding into memory already in use costs
 * ~0.1 ms. A write to the same path while one is under way (never from one reconciler) gets a
 * buffer of its own, so that neither encodes over the bytes the other is writing.
 */
const buffers = new Map<string, { buf: Buffer; busy: boolean }>();

/**
 * What identifies the status file of `stateDir` as last written (device, inode, size, times),
 * or null when there is none: each write renames a new file into place.
 */
export function statusIdentity(stateDir: string): Promise<string | null> {
  return identity(statusPath(stateDir));
}

async function identity(path: string): Promise<string | null> {
  const s = await stat(path, { bigint: true }).catch(() => null);
  return s && s.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : null;
}

/**
 * Whether pieces `b` make the text that `a` made. The pieces of a write are compared one by one
 * (an unchanged job's line is the same string, compared at once); a text read from the file is
 * one piece, compared with the text of `b`.
 */
function sameParts(a: readonly string[], b: readonly string[]): boolean {
  if (a.length === 1 && b.length !== 1) return a[0] === b.join('');
  return sameStrings(a, b);
}

/** Writes the status file atomically with mode 0644; skips the write when nothing changed. */
export async function writeStatus(stateDir: string, status: StatusFile): Promise<void> {
  const path = statusPath(stateDir);
  const parts = statusParts(status);
  const last = known.get(path);
  const id = await identity(path);
  // Undefined: nothing known of the file as it is; it is compared once encoded.
  const same = last && id !== null && last.id === id ? sameParts(last.parts, parts) : undefined;
  if (same) return;
  let size = 0;
  for (const p of parts) size += Buffer.byteLength(p);
  let own = buffers.get(path);
  const shared = !own?.busy;
  let buf = shared ? own?.buf : undefined;
  if (!buf || buf.length < size) {
    buf = Buffer.allocUnsafeSlow(shared ? size + (size >> 3) : size);
    if (shared) buffers.set(path, (own = { buf, busy: false }));
  }
  if (shared) own!.busy = true;
  try {
    const bytes = encodeParts(parts, buf, size);
    // Compared only with a regular file: anything else in its place (a FIFO) is replaced unread.
    if (same === undefined && id !== null && (await readStatusBytes(path).catch(() => null))?.equals(bytes) === true) {
      if (id !== null) known.set(path, { id, parts });
      return;
    }
    known.delete(path);
    await atomicWriteFile(path, bytes, 0o644);
    const written = await identity(path);
    if (written !== null) known.set(path, { id: written, parts });
  } finally {
    if (shared) own!.busy = false;
  }
}

/**
 * The largest status file read. 10,000 jobs make 1.3 MiB; a bigger file is none this cronsync
 * wrote, and is not held in memory to find that out.
 */
export const MAX_STATUS_BYTES = 64 * 1024 * 1024;

/**
 * The bytes of the status file at `path`, or null when there is none. A FIFO, device or
 * directory in its place is refused, not opened (a FIFO without a writer would block every
 * reader, /dev/zero never ends); what is opened is opened with O_NONBLOCK and checked again on
 * the descriptor.
 * @throws {CronsyncError} naming the file when it is not a regular file or is too large; an
 * IoError when it cannot be read.
 */
async function readStatusBytes(path: string): Promise<Buffer | null> {
  const notRegular = (kind: string): CronsyncError =>
    new CronsyncError('CRONSYNC_IO', `${path} is ${kind}, not a regular file; remove it, and the next sync writes the status file again`, { path });
  let fh;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw notRegular(fileKind(st));
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    if (err instanceof CronsyncError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read', path, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(fileKind(st));
    const tooLarge = (size: number): CronsyncError =>
      new CronsyncError('CRONSYNC_IO', `${path} is ${size} bytes, more than the ${MAX_STATUS_BYTES} a status file can be; remove it, and the next sync writes it again`, { path, size });
    if (st.size > MAX_STATUS_BYTES) throw tooLarge(st.size);
    const chunks: Buffer[] = [];
    let total = 0;
    // To the end (it may have grown since fstat), never past the limit.
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.max(64 * 1024, st.size + 1 - total));
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, MAX_STATUS_BYTES + 1 - total), null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_STATUS_BYTES) throw tooLarge(total);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof CronsyncError) throw err;
    throw ioError('read', path, err);
  } finally {
    await fh.close();
  }
}

/**
 * The status file schema check, imported by a specifier that is not a literal: esbuild bundles
 * only literal imports, and `exec`'s bundle, which holds this module for the state store's
 * sake but never reads the status file, must not take the validator (see ./schema.ts).
 */
const SCHEMA_MODULE = './schema.js';
async function schemaCheck(): Promise<(data: unknown) => string | null> {
  return ((await import(SCHEMA_MODULE)) as typeof Schema).statusSchemaProblem;
}

/**
 * Reads the status file, or null when there is none yet. The result may be shared with other
 * readers in this process: read it, do not change it.
 * @throws {CronsyncError} naming the file when it exists but is not a regular file, or not a
 * valid version-1 status file (status.v1.schema.json; the message names the first field wrong).
 */
export async function readStatus(stateDir: string): Promise<StatusFile | null> {
  const path = statusPath(stateDir);
  const last = known.get(path);
  const id = await identity(path);
  // A text this process wrote itself (or read and checked) is not checked against the schema again.
  if (last && id !== null && last.id === id) return (last.parsed ??= parseStatus(last.parts.join(''), path));
  const bytes = await readStatusBytes(path);
  if (bytes === null) return null;
  const text = bytes.toString('utf8');
  const parsed = parseStatus(text, path, await schemaCheck());
  // Only a file that kept its identity while it was read is remembered.
  if (id !== null && (await identity(path)) === id) known.set(path, { id, parts: [text], parsed });
  return parsed;
}

/** Top-level lists whose elements are written one per line (see {@link serializeStatus}). */
const ONE_PER_LINE: ReadonlySet<string> = new Set(['jobs', 'problems']);

/** Elements of `jobs` that never change (see {@link stableRow}), and their lines once serialised. */
const stable = new WeakSet<object>();
const lines = new WeakMap<object, string>();

/**
 * Declares `row` a job row that never changes, frozen with everything in it, and returns it:
 * its line in the status file is serialised once, however many writes it is in. The reconciler
 * hands back the same row for a job that did not change, so a re-sync serialises only the rows
 * that did (src/reconcile/summarize.ts).
 */
export function stableRow(row: StatusJob): StatusJob {
  stable.add(row);
  return row;
}

function elementLine(e: unknown): string {
  const row = typeof e === 'object' && e !== null && stable.has(e) ? e : undefined;
  let line = row && lines.get(row);
  if (line === undefined) {
    line = `    ${JSON.stringify(e) ?? 'null'}`;
    if (row) lines.set(row, line);
  }
  return line;
}

/**
 * The status file's text in pieces (a job's line is one): JSON with the top-level fields
 * indented by two spaces, except that each element of `jobs` and `problems` is one line of its
 * own. A fleet's status holds thousands of jobs: a job per line is what `grep` finds whole, and
 * the text is a quarter smaller than fully indented (10,000 jobs: 1.3 MiB, after every sync).
 */
function statusParts(status: StatusFile): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(status)) {
    const name = JSON.stringify(key);
    const open = out.length === 0 ? '{\n' : ',\n';
    if (ONE_PER_LINE.has(key) && Array.isArray(value) && value.length > 0) {
      out.push(`${open}  ${name}: [\n`);
      value.forEach((e, i) => {
        if (i > 0) out.push(',\n');
        out.push(elementLine(e));
      });
      out.push('\n  ]');
      continue;
    }
    const text = JSON.stringify(value, null, 2);
    if (text === undefined) continue;
    out.push(`${open}  ${name}: ${text.replaceAll('\n', '\n  ')}`);
  }
  out.push(out.length === 0 ? '{}\n' : '\n}\n');
  return out;
}

/** Encodes `parts` (`size` bytes in all) into the start of `buf`; returns that view. */
function encodeParts(parts: readonly string[], buf: Buffer, size: number): Buffer {
  let at = 0;
  for (const p of parts) at += buf.write(p, at);
  if (at !== size) throw new Error(`status text is ${at} bytes, ${size} expected`);
  return buf.subarray(0, size);
}

/** The status file's text. */
export function serializeStatus(status: StatusFile): string {
  return statusParts(status).join('');
}

/**
 * Parses the text of the status file at `path` (named in errors). `problem` tells the first way
 * the parsed data is not a status file: by default only the parts that readers rely on are
 * checked; readStatus checks it against the schema (./schema.ts).
 * @throws {CronsyncError} when it is not a valid version-1 status file.
 */
export function parseStatus(text: string, path: string, problem: (data: unknown) => string | null = shapeProblem): StatusFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CronsyncError('CRONSYNC_IO', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  // Another number is another version of the format, not damage.
  const version = isObject(data) ? data.schemaVersion : undefined;
  if (typeof version === 'number' && version !== 1) throw new CronsyncError('CRONSYNC_IO', `${path} has schemaVersion ${version}; this cronsync reads version 1`);
  const damage = problem(data);
  if (damage) throw new CronsyncError('CRONSYNC_IO', `${path} is damaged: ${damage}; the next sync rewrites it`);
  return data as StatusFile;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first part of a parsed status file that readers rely on and that is missing or mistyped. */
function shapeProblem(data: unknown): string | null {
  if (!isObject(data)) return 'the document is not an object';
  if (data.schemaVersion !== 1) return 'schemaVersion is not 1';
  const d = data;
  for (const key of ['agent', 'scheduler', 'source', 'lastAttempt', 'counts', 'checkins'] as const) {
    if (!isObject(d[key])) return `${key} ${d[key] === undefined ? 'is missing' : 'is not an object'}`;
  }
  if (d.lastSuccess !== null && !isObject(d.lastSuccess)) return 'lastSuccess is not an object';
  if (!Array.isArray(d.problems) || !d.problems.every(isObject)) return 'problems is not a list of objects';
  if (!Array.isArray(d.jobs)) return 'jobs is not a list';
  const bad = d.jobs.findIndex((j) => !isObject(j) || !['id', 'schedule', 'timezone', 'state'].every((k) => typeof j[k] === 'string'));
  return bad === -1 ? null : `jobs[${bad}] lacks id, schedule, timezone or state`;
}

/** Reading and writing `<stateDir>/status.json` (atomic, mode 0644, no secrets). */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CronsyncError } from '../errors.js';
import { sameStrings } from '../memo.js';
import { atomicWriteFile, readBytesIfExists } from '../system/files.js';
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
    if (same === undefined && (await readBytesIfExists(path))?.equals(bytes) === true) {
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
 * Reads the status file, or null when there is none yet. The result may be shared with other
 * readers in this process: read it, do not change it.
 * @throws {CronsyncError} when it exists but is not a version-1 status file.
 */
export async function readStatus(stateDir: string): Promise<StatusFile | null> {
  const path = statusPath(stateDir);
  const last = known.get(path);
  const id = await identity(path);
  if (last && id !== null && last.id === id) return (last.parsed ??= parseStatus(last.parts.join(''), path));
  const bytes = await readBytesIfExists(path);
  if (bytes === null) return null;
  const text = bytes.toString('utf8');
  const parsed = parseStatus(text, path);
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
 * Parses the text of the status file at `path` (named in errors).
 * @throws {CronsyncError} when it is not a version-1 status file.
 */
export function parseStatus(text: string, path: string): StatusFile {
  let data: StatusFile;
  try {
    data = JSON.parse(text) as StatusFile;
  } catch (err) {
    throw new CronsyncError('CRONSYNC_IO', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (data?.schemaVersion !== 1) throw new CronsyncError('CRONSYNC_IO', `${path} has schemaVersion ${String(data?.schemaVersion)}; this cronsync reads version 1`);
  const damage = shapeProblem(data);
  if (damage) throw new CronsyncError('CRONSYNC_IO', `${path} is damaged (${damage}); the next sync rewrites it`);
  return data;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first part of a parsed status file that readers rely on and that is missing or mistyped. */
function shapeProblem(data: StatusFile): string | null {
  const d = data as unknown as Record<string, unknown>;
  for (const key of ['agent', 'scheduler', 'source', 'lastAttempt', 'counts', 'checkins'] as const) {
    if (!isObject(d[key])) return `${key} is not an object`;
  }
  if (d.lastSuccess !== null && !isObject(d.lastSuccess)) return 'lastSuccess is not an object';
  if (!Array.isArray(d.problems) || !d.problems.every(isObject)) return 'problems is not a list of objects';
  if (!Array.isArray(d.jobs)) return 'jobs is not a list';
  const bad = d.jobs.findIndex((j) => !isObject(j) || !['id', 'schedule', 'timezone', 'state'].every((k) => typeof j[k] === 'string'));
  return bad === -1 ? null : `jobs[${bad}] lacks id, schedule, timezone or state`;
}

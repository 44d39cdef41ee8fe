/** Reading and writing `<stateDir>/status.json` (atomic, mode 0644, no secrets). */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CronsyncError } from '../errors.js';
import { atomicWriteFile, readFileIfExists } from '../system/files.js';
import type { StatusFile } from './types.js';

/** Path of the status file in a state dir. */
export function statusPath(stateDir: string): string {
  return join(stateDir, 'status.json');
}

/**
 * The status file as this process last wrote or read it, by path: its text, the identity of the
 * file that held it (inode, size, change and modification times in ns), and once read, its
 * parse. A sync reads the file and compares its next text with it; with 10,000 jobs that is
 * 2 MiB read and parsed each time. While the file keeps that identity, neither is done again.
 * Any other writer (the daemon adding its Crontopus block, a hand edit, another process)
 * changes the identity (a rewrite in place to the same size within one kernel clock tick of
 * ours would not, on kernels without fine-grained timestamps: it is seen at the next change).
 */
const known = new Map<string, { id: string; text: string; parsed?: StatusFile }>();

async function identity(path: string): Promise<string | null> {
  const s = await stat(path, { bigint: true }).catch(() => null);
  return s && s.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : null;
}

/** Writes the status file atomically with mode 0644; skips the write when nothing changed. */
export async function writeStatus(stateDir: string, status: StatusFile): Promise<void> {
  const path = statusPath(stateDir);
  const text = serializeStatus(status);
  const last = known.get(path);
  const id = await identity(path);
  if (last && id !== null && last.id === id ? last.text === text : (await readFileIfExists(path)) === text) {
    if (id !== null && last?.id !== id) known.set(path, { id, text });
    return;
  }
  known.delete(path);
  await atomicWriteFile(path, text, 0o644);
  const written = await identity(path);
  if (written !== null) known.set(path, { id: written, text });
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
  if (last && id !== null && last.id === id) return (last.parsed ??= parseStatus(last.text, path));
  const text = await readFileIfExists(path);
  if (text === null) return null;
  const parsed = parseStatus(text, path);
  // Only a file that kept its identity while it was read is remembered.
  if (id !== null && (await identity(path)) === id) known.set(path, { id, text, parsed });
  return parsed;
}

/** Top-level lists whose elements are written one per line (see {@link serializeStatus}). */
const ONE_PER_LINE: ReadonlySet<string> = new Set(['jobs', 'problems']);

/**
 * The line of each frozen element of `jobs` or `problems` serialised before. The reconciler
 * hands back the same frozen row (and frozen parts) for a job that did not change, so a re-sync
 * serialises only the rows that did (src/reconcile/summarize.ts).
 */
const lines = new WeakMap<object, string>();

function elementLine(e: unknown): string {
  if (typeof e !== 'object' || e === null || !Object.isFrozen(e)) return `    ${JSON.stringify(e) ?? 'null'}`;
  let line = lines.get(e);
  if (line === undefined) lines.set(e, (line = `    ${JSON.stringify(e)}`));
  return line;
}

/**
 * The status file's text: JSON with the top-level fields indented by two spaces, except that
 * each element of `jobs` and `problems` is one line of its own. A fleet's status holds thousands
 * of jobs: a job per line is what `grep` finds whole, the text is a quarter smaller than fully
 * indented, and it is joined from one string per line instead of grown piece by piece (10,000
 * jobs: 1.3 MiB, written after every sync).
 */
export function serializeStatus(status: StatusFile): string {
  const out: string[] = [];
  for (const [key, value] of Object.entries(status)) {
    const name = JSON.stringify(key);
    if (ONE_PER_LINE.has(key) && Array.isArray(value) && value.length > 0) {
      out.push(`  ${name}: [`, value.map(elementLine).join(',\n'), '  ],');
      continue;
    }
    const text = JSON.stringify(value, null, 2);
    if (text !== undefined) out.push(`  ${name}: ${text.replaceAll('\n', '\n  ')},`);
  }
  if (out.length === 0) return '{}\n';
  out[out.length - 1] = out[out.length - 1]!.slice(0, -1);
  return `{\n${out.join('\n')}\n}\n`;
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

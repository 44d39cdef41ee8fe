/** Reading and writing `<stateDir>/status.json` (atomic, mode 0644, no secrets). */
import { join } from 'node:path';
import { CronsyncError } from '../errors.js';
import { atomicWriteFile, readFileIfExists } from '../system/files.js';
import type { StatusFile } from './types.js';

/** Path of the status file in a state dir. */
export function statusPath(stateDir: string): string {
  return join(stateDir, 'status.json');
}

/** Writes the status file atomically with mode 0644; skips the write when nothing changed. */
export async function writeStatus(stateDir: string, status: StatusFile): Promise<void> {
  const text = serializeStatus(status);
  if ((await readFileIfExists(statusPath(stateDir))) === text) return;
  await atomicWriteFile(statusPath(stateDir), text, 0o644);
}

/**
 * Reads the status file, or null when there is none yet.
 * @throws {CronsyncError} when it exists but is not a version-1 status file.
 */
export async function readStatus(stateDir: string): Promise<StatusFile | null> {
  const text = await readFileIfExists(statusPath(stateDir));
  return text === null ? null : parseStatus(text, statusPath(stateDir));
}

/** The status file's text. */
export function serializeStatus(status: StatusFile): string {
  return `${JSON.stringify(status, null, 2)}\n`;
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

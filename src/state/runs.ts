/**
 * Last-run records: one per job at `<stateDir>/runs/<tenant>/<name>.json`, written by
 * `cronsync exec` after each run and read by `cronsync status`. They hold no output and no secret.
 * Written with synchronous I/O through ./sync-io.ts, which `exec` loads cheaply; read asynchronously.
 * Beside each record, `runs/<tenant>/<name>/fired/` holds the job's once-per-instant markers (./fired.ts).
 */
import { join } from 'node:path';
import type { JobId } from '../manifest/types.js';
import { parseJobId } from './snapshot-read.js';
import { ioError } from '../errors.js';
import { removeFiredMarkers } from './fired.js';
import { STATE_MODES } from './store.js';
import { removeFileSync, writeFileAtomicSync } from './sync-io.js';

/** Outcome of one run as the status file reports it. */
export type RunStatus = 'success' | 'failure' | 'timeout' | 'cancelled' | 'skipped';

/** LastRun is the record of a job's most recent run (or skipped run). */
export interface LastRun {
  runId: string;
  /** ISO 8601. */
  startedAt: string;
  finishedAt: string;
  status: RunStatus;
  /** The exit code `cronsync exec` returned; null for a skipped run. */
  exitCode: number | null;
  durationMs: number;
  attempts: number;
}

/** Path of the last-run record of job `id`. @throws {UsageError} on a malformed id. */
export function lastRunPath(stateDir: string, id: JobId | string): string {
  const { tenant, name } = parseJobId(id);
  return join(stateDir, 'runs', tenant, `${name}.json`);
}

/**
 * Records the last run of a job atomically, private to the agent's user (0600, like the rest of
 * the state dir: a job running as another account learns nothing of the others). Not fsynced:
 * the record is informational and rewritten by every run.
 * @throws {IoError}
 */
export async function writeLastRun(stateDir: string, id: JobId | string, run: LastRun): Promise<void> {
  writeFileAtomicSync(lastRunPath(stateDir, id), serializeLastRun(run), STATE_MODES.private, false);
}

/**
 * Reads the last run of a job; null when there is none or the record is unreadable garbage.
 * Asynchronous: the daemon's status summary reads one per job, and must not block its loop
 * (fs/promises is loaded here, off `exec`'s start-up path).
 * @throws {IoError}
 */
export async function readLastRun(stateDir: string, id: JobId | string): Promise<LastRun | null> {
  const path = lastRunPath(stateDir, id);
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read', path, err);
  }
  return parseLastRun(text);
}

/** Parses a last-run record; null when it is unreadable garbage. Never throws. */
export function parseLastRun(text: string): LastRun | null {
  try {
    const v = JSON.parse(text) as LastRun | null;
    return v && typeof v.status === 'string' && typeof v.startedAt === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** The text of a last-run record. */
export function serializeLastRun(run: LastRun): string {
  return `${JSON.stringify(run)}\n`;
}

/**
 * Deletes the last-run record of a job (when the job is removed), and its once-per-instant
 * markers (./fired.ts). Returns whether there was a record. @throws {IoError}
 */
export async function deleteLastRun(stateDir: string, id: JobId | string): Promise<boolean> {
  const had = removeFileSync(lastRunPath(stateDir, id));
  removeFiredMarkers(stateDir, id);
  return had;
}

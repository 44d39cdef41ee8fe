/**
 * The check-in spool's entries (see ./spool.ts): format, file names, the synchronous write
 * `exec` makes before each final check-in, and the listing. Kept apart from the flush, which
 * `exec` loads only when there is something to deliver.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../state/sync-io.js';
import type { Checkin } from './checkin.js';

/** SpoolEntry is one undelivered check-in. */
export interface SpoolEntry extends Checkin {
  version: 1;
  jobId: string;
  /** ISO 8601. */
  createdAt: string;
  /** The `${VAR}` template of the secret when it is a pure reference; else read from the job snapshot. */
  secretRef: string | null;
  secretsFile?: string;
  /** The process delivering it right now; null once it is left to the daemon. */
  owner: { pid: number; startTime: string | null } | null;
}

/**
 * Names of the entries this process is delivering right now (a run's final check-in, between
 * its spool write and its answer). A flush skips an entry whose owner is alive, since that owner
 * is still delivering it; an entry owned by this very process is skipped only while listed here.
 * Otherwise a daemon run whose durable rewrite failed (a full disk) left its entry owned by the
 * daemon's pid, never delivered, expired or counted while the daemon lived.
 */
export const SENDING_HERE = new Set<string>();

/** Spool limits from the agent configuration. */
export interface SpoolLimits {
  maxAgeDays: number;
  maxCount: number;
}

/**
 * The limits of a flush given none (a job snapshot written before they were recorded): the
 * config's defaults, `checkin.spool` in src/config/config.v1.schema.json, a week and 10,000
 * entries. A smaller count here dropped check-ins the config promised to keep.
 */
export const DEFAULT_SPOOL_LIMITS: SpoolLimits = { maxAgeDays: 7, maxCount: 10_000 };

/** Directory of the spool. */
export function spoolDir(stateDir: string): string {
  return join(stateDir, 'spool');
}

/** File name of an entry: sortable by creation time. */
export function spoolFileName(entry: Pick<SpoolEntry, 'createdAt' | 'payload'>): string {
  return `${String(Date.parse(entry.createdAt)).padStart(14, '0')}-${entry.payload.run_id}.json`;
}

/** Writes (or rewrites) an entry atomically with mode 0600; returns its path. @throws {IoError} */
export async function writeSpoolEntry(stateDir: string, entry: SpoolEntry, fsync = true): Promise<string> {
  return writeSpoolEntrySync(stateDir, entry, fsync);
}

/** {@link writeSpoolEntry} without yielding, for callers that must act right after it. @throws {IoError} */
export function writeSpoolEntrySync(stateDir: string, entry: SpoolEntry, fsync = true): string {
  const path = join(spoolDir(stateDir), spoolFileName(entry));
  writeFileAtomicSync(path, JSON.stringify(entry), 0o600, fsync);
  return path;
}

/** Lists entry files, oldest first. */
export async function listSpool(stateDir: string): Promise<string[]> {
  try {
    return readdirSync(spoolDir(stateDir)).filter((f) => /^\d{14}-[^.]+\.json$/.test(f)).sort();
  } catch {
    return [];
  }
}

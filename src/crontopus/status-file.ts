/**
 * `<stateDir>/crontopus/status.json`: the daemon's last calls to a Crontopus backend, copied into
 * the `crontopus` block of status.json by every sync (src/reconcile/summarize.ts) and patched
 * into it between syncs by the daemon. Holds no token.
 */
import { join } from 'node:path';
import { atomicWriteFile, readFileIfExists } from '../system/files.js';
import type { StatusCrontopus } from '../status/types.js';

/** Path of the record in a state dir. */
export function crontopusStatusPath(stateDir: string): string {
  return join(stateDir, 'crontopus', 'status.json');
}

/** Writes the record atomically (mode 0644, like status.json). @throws {IoError} */
export async function writeCrontopusStatus(stateDir: string, block: StatusCrontopus): Promise<void> {
  await atomicWriteFile(crontopusStatusPath(stateDir), `${JSON.stringify(block, null, 2)}\n`, 0o644);
}

/** The record, or null when there is none or it cannot be read. Never throws. */
export async function readCrontopusStatus(stateDir: string): Promise<StatusCrontopus | null> {
  try {
    const text = await readFileIfExists(crontopusStatusPath(stateDir));
    const v = text === null ? null : (JSON.parse(text) as StatusCrontopus | null);
    return v && typeof v === 'object' && (v.identity === 'enrolled' || v.identity === 'provisioned') ? v : null;
  } catch {
    return null;
  }
}

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
  const text = `${JSON.stringify(status, null, 2)}\n`;
  if ((await readFileIfExists(statusPath(stateDir))) === text) return;
  await atomicWriteFile(statusPath(stateDir), text, 0o644);
}

/**
 * Reads the status file, or null when there is none yet.
 * @throws {CronsyncError} when it exists but is not a version-1 status file.
 */
export async function readStatus(stateDir: string): Promise<StatusFile | null> {
  const text = await readFileIfExists(statusPath(stateDir));
  if (text === null) return null;
  let data: StatusFile;
  try {
    data = JSON.parse(text) as StatusFile;
  } catch (err) {
    throw new CronsyncError('CRONSYNC_IO', `${statusPath(stateDir)} is not valid JSON: ${(err as Error).message}`);
  }
  if (data?.schemaVersion !== 1) throw new CronsyncError('CRONSYNC_IO', `${statusPath(stateDir)} has schemaVersion ${String(data?.schemaVersion)}; this cronsync reads version 1`);
  return data;
}

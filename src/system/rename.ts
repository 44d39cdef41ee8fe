/**
 * Renaming a finished temp file over the file it replaces, as every atomic write of the state
 * dir does. On Windows the rename fails with EPERM, EACCES or EBUSY while another process has the
 * target open (`cronsync status` or a monitor reading status.json, an antivirus scanner, `exec`
 * reading a snapshot), even when that reader allows deletion; such a failure is retried with a
 * growing delay, for about 5 s in all, as graceful-fs and Node's own rm do. POSIX renames never
 * fail that way and are not retried. No heavy imports: `cronsync exec` uses it.
 */
// node:fs's `promises` is read at each call: node:fs/promises costs `cronsync exec` ~1 ms to load.
import { promises as fsp, renameSync } from 'node:fs';
import { hostOs } from './platform.js';

/** The delays between attempts (ms): about 5 s in all. */
export const RENAME_RETRY_DELAYS_MS: readonly number[] = [10, 20, 40, 80, 160, 320, 500, 500, 500, 500, 500, 500, 500, 500, 500];

const TRANSIENT = new Set(['EPERM', 'EACCES', 'EBUSY']);

/** True when a rename that failed with `err` may succeed later (Windows only). */
function retryable(err: unknown, win: boolean): boolean {
  return win && TRANSIENT.has((err as NodeJS.ErrnoException)?.code ?? '');
}

/** Blocks the thread for `ms` (exec's synchronous writes have nothing else to do meanwhile). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** What the retrying renames use; injected in tests. */
export interface RenameDeps {
  win?: boolean;
  renameSync?: (from: string, to: string) => void;
  rename?: (from: string, to: string) => Promise<void>;
  sleepSync?: (ms: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** renameSync, retried on Windows while the target is held open (see above). @throws the last error. */
export function renameRetrySync(from: string, to: string, d: RenameDeps = {}): void {
  const win = d.win ?? hostOs === 'win32';
  for (let attempt = 0; ; attempt++) {
    try {
      (d.renameSync ?? renameSync)(from, to);
      return;
    } catch (err) {
      const delay = RENAME_RETRY_DELAYS_MS[attempt];
      if (delay === undefined || !retryable(err, win)) throw err;
      (d.sleepSync ?? sleepSync)(delay);
    }
  }
}

/** rename, retried on Windows while the target is held open (see above). @throws the last error. */
export async function renameRetry(from: string, to: string, d: RenameDeps = {}): Promise<void> {
  const win = d.win ?? hostOs === 'win32';
  for (let attempt = 0; ; attempt++) {
    try {
      await (d.rename ?? fsp.rename)(from, to);
      return;
    } catch (err) {
      const delay = RENAME_RETRY_DELAYS_MS[attempt];
      if (delay === undefined || !retryable(err, win)) throw err;
      await (d.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms))))(delay);
    }
  }
}

/** Rendering one job's entry, telling a scheduler limit (reported per job) from a bug. */
import type { DesiredJob } from '../desired/types.js';
import { ManifestError, SchedulerError, isCronsyncError } from '../errors.js';
import type { SchedulerAdapter } from './types.js';

/**
 * The entry `adapter` would install for `job`, or why it cannot hold it (e.g. a command over
 * Debian cron's length limit): one job's limit never holds back the others (SPEC §4).
 * @throws any other error (a bug, I/O).
 */
export function renderEntryOrError(adapter: Pick<SchedulerAdapter, 'renderEntry'>, job: DesiredJob): string | { error: string } {
  try {
    return adapter.renderEntry(job);
  } catch (err) {
    if (!isCronsyncError(err) || (err.code !== SchedulerError.code && err.code !== ManifestError.code)) throw err;
    return { error: err.message };
  }
}

/**
 * `cronsync sync [--force] [--dry-run]`: one reconcile.
 *
 * This module only tunes V8 for a one-shot run and then loads the sync itself (./sync-run.ts):
 * the flags are set before Node resolves and compiles the agent's modules, which is what first
 * makes V8 compile (see system/heap.ts); set after, compiling those modules would already have
 * mapped the compilers and grown the heap (about 3.5 MiB of the 100-job sync's peak).
 */
import { keepYoungGenerationSmall, preferSmallFootprint, preferSpeed } from '../../system/heap.js';
import type { CliIo } from '../io.js';

export const usage = `Usage: cronsync sync [--force] [--dry-run] [--config FILE] [--state-dir DIR] [--scheduler KIND]

Runs one reconcile: fetches the source, validates the manifests, plans against what the
scheduler holds, applies the plan and writes the status file.

Options:
  --force        also remove more than half of the installed jobs, and install a job that
                 another source installed too (beside its entry, which stays)
  --dry-run      print the plan and change nothing (like 'cronsync diff')
  --log-level L  trace, debug, info, warn (default for sync), error, fatal, silent

Exit codes: 0 applied (problems in single manifests are reported, their jobs keep their
last applied version), 1 the sync failed (nothing or only part was applied; see the error).
`;

/** Runs sync. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  keepYoungGenerationSmall();
  // A one-shot sync of a few hundred manifests ends before TurboFan pays back (system/heap.ts);
  // V8's defaults come back at the end, for a caller that lives on (tests run commands in-process).
  preferSmallFootprint('one-shot');
  try {
    return await (await import('./sync-run.js')).run(argv, io);
  } finally {
    preferSpeed();
  }
}

/**
 * `cronsync daemon`: the poll loop around the reconciler, with the embedded scheduler when
 * chosen, the spool flush each cycle, webhooks, health and metrics, and signals. Only an
 * invalid config at start stops it; every later failure is logged, backed off and retried.
 *
 * This module only tunes the VM for a long idle life and then loads the daemon itself
 * (./daemon-run.ts): V8's compilers are switched off before Node resolves and compiles the
 * daemon's modules, which is what first makes V8 compile (see system/heap.ts).
 */
import type { BackoffPolicy } from '../../shim/retry.js';
import { preferSmallFootprint, keepYoungGenerationSmall } from '../../system/heap.js';
import type { CliIo } from '../io.js';

export const usage = `Usage: cronsync daemon [--config FILE] [--state-dir DIR] [--scheduler KIND] [--log-level L]

Runs the agent: syncs every source.interval (±10% jitter), backs off exponentially on
failure (capped by daemon.maxBackoff), flushes the check-in spool each cycle, and with the
embedded scheduler runs due jobs itself. Logs are JSON lines on stdout.

Signals: SIGTERM/SIGINT finish the sync in flight and exit 0; SIGHUP reloads the config (an
invalid config keeps the old one). Only an invalid config at start makes it exit (1).

--stop-on-stdin-eof (or CRONSYNC_STOP_ON_STDIN_EOF=1): the end of stdin stops it as SIGTERM
does. The Windows service host uses it, since Windows cannot send SIGTERM.
`;

/**
 * The retry policy of the daemon's spool flush: one attempt per entry and cycle (a first retry
 * after a day never fits the flush budget, and a Retry-After can only lengthen it); the next
 * cycle, an interval later, is the retry. Retries inside the cycle (1 s, 2 s, 4 s) would
 * hold back the flushes of every agent that was retrying when a check-in API comes back and
 * release them together (bench/fleet.mjs); they would also quadruple the requests to an API
 * that is down.
 */
export const DAEMON_FLUSH_POLICY: BackoffPolicy = { baseMs: 86_400_000, maxMs: 86_400_000, factor: 1, jitter: 0 };

/** Runs the daemon until a stop signal; returns 0. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  keepYoungGenerationSmall();
  preferSmallFootprint('idle');
  return (await import('./daemon-run.js')).run(argv, io);
}

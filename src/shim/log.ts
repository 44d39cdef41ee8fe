/**
 * The `cronsync exec` logger: one line per event on stderr, `cronsync[<jobId>]: LEVEL msg {fields}`.
 * Not pino, to keep `exec` start-up small. Only warn and error are printed by default, so a
 * successful run adds nothing to cron mail; `CRONSYNC_LOG_LEVEL=debug|info` shows more.
 */
import type { Logger, WritableLike } from './types.js';
import { REDACTED } from './checkin.js';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;
/** The config's levels (pino's) as thresholds of this logger, which has four. */
const THRESHOLDS: Record<string, number> = { trace: 0, ...LEVELS, fatal: 50, silent: Infinity };

/** Field names whose values are never printed. */
const REDACT = /secret|authorization|password|token/i;

/**
 * Creates a line logger writing to `out` at `level` (a level of the config's `log.level`) and
 * above. A level it does not know (CRONSYNC_LOG_LEVEL=verbose without `--config`, which would
 * refuse it) is warn, said once on the first line: the job still runs.
 */
export function createLineLogger(out: WritableLike, level: string | undefined, prefix = 'cronsync'): Logger {
  // Empty is unset, as an empty CRONSYNC_STATE_DIR is: a blank line above our crontab block
  // must not add a warning to every run.
  const given = level === '' ? undefined : level;
  const known = given === undefined || Object.hasOwn(THRESHOLDS, given);
  const min = known ? THRESHOLDS[given ?? 'warn']! : LEVELS.warn;
  if (!known) out.write(`${prefix}: WARN CRONSYNC_LOG_LEVEL ${JSON.stringify(level)} is not a level (${Object.keys(THRESHOLDS).join(', ')}); using warn\n`);
  const emit = (lvl: Level) => (obj: Record<string, unknown>, msg: string): void => {
    if (LEVELS[lvl] < min) return;
    const fields = Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, REDACT.test(k) ? REDACTED : v instanceof Error ? v.message : v]));
    const json = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
    out.write(`${prefix}: ${lvl.toUpperCase()} ${msg}${json}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

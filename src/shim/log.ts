/**
 * The `cronsync exec` logger: one line per event on stderr, `cronsync[<jobId>]: LEVEL msg {fields}`.
 * Not pino, to keep `exec` start-up small. Only warn and error are printed by default, so a
 * successful run adds nothing to cron mail; `CRONSYNC_LOG_LEVEL=debug|info` shows more.
 */
import type { Logger, WritableLike } from './types.js';
import { REDACTED } from './checkin.js';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

/** Field names whose values are never printed. */
const REDACT = /secret|authorization|password|token/i;

/** Creates a line logger writing to `out` at `level` and above. */
export function createLineLogger(out: WritableLike, level: string | undefined, prefix = 'cronsync'): Logger {
  const min = LEVELS[(level ?? 'warn') as Level] ?? LEVELS.warn;
  const emit = (lvl: Level) => (obj: Record<string, unknown>, msg: string): void => {
    if (LEVELS[lvl] < min) return;
    const fields = Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, REDACT.test(k) ? REDACTED : v instanceof Error ? v.message : v]));
    const json = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
    out.write(`${prefix}: ${lvl.toUpperCase()} ${msg}${json}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** Durations in the shim: parsing shares the manifest grammar (`90s`, `15m`, `2h`, `1h30m`). */
import { ConfigError } from '../errors.js';
import { durationMs } from '../manifest/duration.js';

/**
 * Parses a duration string of a job snapshot into milliseconds, with the same grammar the
 * Job schema validates.
 * @throws {ConfigError} when the string is not a duration.
 */
export function parseDuration(text: string): number {
  const ms = durationMs(text.trim());
  if (ms === undefined) throw new ConfigError(`Invalid duration "${text}": expected e.g. 90s, 15m, 2h or 1h30m`, { value: text });
  return ms;
}

/** Formats milliseconds for messages: `850ms`, `12.3s`, `4m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

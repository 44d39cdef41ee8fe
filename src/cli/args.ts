/** Command-line parsing shared by every command: node's parseArgs with usage errors. */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { clip } from './escape.js';

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  config: { type: 'string', short: 'c' },
  'log-level': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** What a command takes besides its options. */
export interface ParseSettings {
  /** It takes positional arguments (`lint PATH...`); without this, any is a usage error. */
  positionals?: boolean;
}

/**
 * Parses argv against the given options (plus the common ones). An argument a command does not
 * take is an error, never ignored: `prune --all --force acme/one` must not prune everything.
 * @throws {UsageError} on an unknown option, a missing value, or a positional argument that
 * the command does not take (named in the message).
 */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, settings: ParseSettings = {}) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if ((parsed.values as { config?: unknown }).config === '') throw new UsageError('--config needs a file');
  const [extra] = parsed.positionals;
  if (!settings.positionals && extra !== undefined) {
    throw new UsageError(`Unexpected argument '${clip(extra)}': this command takes no arguments`, { argument: clip(extra) });
  }
  return parsed;
}

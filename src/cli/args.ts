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
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    throw new UsageError(parseErrorMessage((err as Error).message));
  }
  if ((parsed.values as { config?: unknown }).config === '') throw new UsageError('--config needs a file');
  checkRepeats(parsed.tokens);
  const [extra] = parsed.positionals;
  if (!settings.positionals && extra !== undefined) {
    throw new UsageError(`Unexpected argument '${clip(extra)}': this command takes no arguments`, { argument: clip(extra) });
  }
  return parsed;
}

/**
 * node's message for a parse error, on one line: an option without its value says which option
 * needs one (node explains "ambiguous" over three lines when the next argument is an option).
 */
function parseErrorMessage(message: string): string {
  const missing = /^Option '(?:-\w, )?(--[^' ]+)[^']*' argument (?:missing|is ambiguous)/.exec(message);
  if (missing) return `${missing[1]} needs a value`;
  return message.replace(/\. To specify a positional argument.*$/s, '');
}

/**
 * An option given twice with different values is an error: the last one would win silently,
 * and `--state-dir A … --state-dir B` or `--scheduler cron.d … --scheduler crontab` would
 * install entries somewhere the reader of the command line did not expect.
 * @throws {UsageError} naming the option and both values.
 */
function checkRepeats(tokens: readonly { kind: string; name?: string; rawName?: string; value?: string | undefined }[] | undefined): void {
  const seen = new Map<string, string>();
  for (const t of tokens ?? []) {
    if (t.kind !== 'option' || t.name === undefined || t.value === undefined) continue;
    const before = seen.get(t.name);
    if (before !== undefined && before !== t.value) {
      throw new UsageError(`--${t.name} is given twice ("${clip(before)}", then "${clip(t.value)}"); give it once`, { option: `--${t.name}` });
    }
    seen.set(t.name, t.value);
  }
}

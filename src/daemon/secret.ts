/**
 * Loading the webhook secret from a file or an environment variable. The config only ever
 * names where the secret lives; the value never appears in config, logs or errors.
 */
import { ConfigError } from '../errors.js';
import { readRegularFileSync } from '../system/regular-file.js';
import { nodePlatform, type Platform } from '../system/platform.js';

/** Where the webhook secret lives (config `webhooks.secretFile` / `webhooks.secretEnv`). */
export interface SecretSource {
  secretFile?: string;
  secretEnv?: string;
}

/** File and environment access, injectable for tests. */
export interface SecretDeps {
  /** The file's text and its permission bits (`stat.mode & 0o777`), of the same open file. */
  readFile(path: string): { text: string; mode: number };
  env: Readonly<Record<string, string | undefined>>;
  /** Judges whether the file is private: mode bits (POSIX) or its ACL (Windows). */
  platform: Platform;
}


const REASONS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', ENOTREG: 'not a regular file', EISDIR: 'not a regular file' };

const nodeDeps: SecretDeps = {
  readFile: (p) => {
    const { data, stat } = readRegularFileSync(p);
    return { text: data.toString('utf8'), mode: stat.mode & 0o777 };
  },
  env: process.env,
  platform: nodePlatform,
};

/** Below this length a secret is guessable; such a secret is refused. */
export const MIN_SECRET_LENGTH = 16;

/**
 * Reads the webhook secret; null when neither source is configured (webhooks then reject every
 * call). Trailing whitespace and newlines of the file are dropped.
 * @throws {ConfigError} when the file is unreadable, readable by others (POSIX mode, Windows ACL), or the secret
 * is empty or shorter than {@link MIN_SECRET_LENGTH}.
 */
export function loadWebhookSecret(src: SecretSource, deps: SecretDeps = nodeDeps): string | null {
  let value: string | undefined;
  if (src.secretFile !== undefined) {
    const file = src.secretFile;
    let mode: number;
    try {
      ({ text: value, mode } = deps.readFile(file));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
      throw new ConfigError(`Cannot read webhook secret file ${file}: ${REASONS[code] ?? code}`, { path: file, reason: code });
    }
    const why = deps.platform.publicReason(file, { mode });
    if (why !== null) {
      const text = deps.platform.kind === 'win32' ? `must not be readable by other users: ${why}` : 'must not be group or world readable (chmod 600)';
      throw new ConfigError(`Webhook secret file ${file} ${text}`, { path: file, mode: mode.toString(8) });
    }
  } else if (src.secretEnv !== undefined) {
    value = deps.env[src.secretEnv];
    if (value === undefined) throw new ConfigError(`Webhook secret variable ${src.secretEnv} is not set`, { variable: src.secretEnv });
  } else {
    return null;
  }
  const secret = value.replace(/\s+$/, '');
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`Webhook secret must be at least ${MIN_SECRET_LENGTH} characters`, { length: secret.length });
  }
  return secret;
}

/**
 * Credentials of a git source: read at each fetch from a file or an environment variable (or,
 * reluctantly, from URL userinfo), and turned into a Basic `Authorization` header. The URL that
 * is used and shown never carries them.
 */
import { SourceError } from '../errors.js';
import { readRegularFileSync } from '../system/regular-file.js';
import type { SourceConfig } from './types.js';

/** Credentials resolved for one fetch. */
export interface Credentials {
  username: string;
  password: string;
}

/** Splits userinfo off an http(s) URL; returns the clean URL and any credentials it held. */
export function splitUrlAuth(url: string): { url: string; username?: string; password?: string } {
  if (!/^https?:\/\//i.test(url)) return { url };
  const u = new URL(url);
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const clean = u.toString().replace(/\/$/, '');
  return { url: clean, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

/**
 * Resolves the credentials of `config`, or null when none are configured.
 * @throws {SourceError} kind `auth` when the password file or variable cannot be read.
 */
export function resolveCredentials(config: SourceConfig, env: NodeJS.ProcessEnv = process.env, readFile: (p: string) => string = (p) => readRegularFileSync(p).data.toString('utf8')): Credentials | null {
  const fromUrl = splitUrlAuth(config.url);
  const a = config.auth ?? {};
  let password = fromUrl.password;
  if (a.passwordFile) {
    try {
      password = readFile(a.passwordFile).replace(/\r?\n$/, '');
    } catch (err) {
      throw new SourceError('auth', `cannot read source.auth.passwordFile ${a.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { path: a.passwordFile });
    }
  } else if (a.passwordEnv) {
    password = env[a.passwordEnv];
    if (password === undefined) throw new SourceError('auth', `environment variable ${a.passwordEnv} (source.auth.passwordEnv) is not set`, { variable: a.passwordEnv });
  }
  const username = a.username ?? fromUrl.username ?? (password !== undefined ? 'git' : undefined);
  if (username === undefined || password === undefined) return null;
  return { username, password };
}

/** The `Authorization` header for `creds`. */
export function basicAuthHeader(creds: Credentials): string {
  return 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
}

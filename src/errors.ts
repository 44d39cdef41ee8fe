/**
 * Error classes of cronsync. Each class has a static `code`; callers narrow on `err.code`,
 * never on message text. Messages and `data` never carry secrets.
 */

/** Every error code cronsync raises. */
export type ErrorCode =
  | 'CRONSYNC_USAGE'
  | 'CRONSYNC_CONFIG'
  | 'CRONSYNC_IO'
  | 'CRONSYNC_MANIFEST'
  | 'CRONSYNC_SOURCE_AUTH'
  | 'CRONSYNC_SOURCE_NOT_FOUND'
  | 'CRONSYNC_SOURCE_NETWORK'
  | 'CRONSYNC_SOURCE_SERVER'
  | 'CRONSYNC_SOURCE_CORRUPT'
  | 'CRONSYNC_SOURCE_FETCH'
  | 'CRONSYNC_SCHEDULER'
  | 'CRONSYNC_OWNERSHIP_CONFLICT'
  | 'CRONSYNC_REMOVAL_GUARD'
  | 'CRONSYNC_JOB_NOT_FOUND'
  | 'CRONSYNC_SECRETS'
  | 'CRONSYNC_INTERNAL';

/** CronsyncError is the base of every error cronsync raises on purpose. */
export class CronsyncError extends Error {
  static readonly code: ErrorCode = 'CRONSYNC_INTERNAL';
  readonly code: ErrorCode;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = code;
    this.data = data;
  }
}

/** UsageError is a bad command line: fatal, exit 2. */
export class UsageError extends CronsyncError {
  static override readonly code = 'CRONSYNC_USAGE' as const;
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(UsageError.code, message, data);
  }
}

/** ConfigError is an invalid or unreadable agent configuration: fatal. */
export class ConfigError extends CronsyncError {
  static override readonly code = 'CRONSYNC_CONFIG' as const;
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(ConfigError.code, message, data, options);
  }
}

/** IoError is a file that could not be read or written. */
export class IoError extends CronsyncError {
  static override readonly code = 'CRONSYNC_IO' as const;
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(IoError.code, message, data, options);
  }
}

/**
 * The IoError of a failed file operation: `Cannot <op> <path>: <the system's message>`, with the
 * path in its data and the system error as its cause.
 */
export function ioError(op: string, path: string, cause: unknown): IoError {
  return new IoError(`Cannot ${op} ${path}: ${(cause as Error).message}`, { path }, { cause });
}

/** ManifestError stalls one job: its last applied version stays installed. */
export class ManifestError extends CronsyncError {
  static override readonly code = 'CRONSYNC_MANIFEST' as const;
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(ManifestError.code, message, data);
  }
}

/** The ways a source fetch can fail, classified by what the daemon does next. */
export type SourceErrorKind = 'auth' | 'not-found' | 'network' | 'server' | 'corrupt' | 'other';

const sourceCodes: Record<SourceErrorKind, ErrorCode> = {
  auth: 'CRONSYNC_SOURCE_AUTH',
  'not-found': 'CRONSYNC_SOURCE_NOT_FOUND',
  network: 'CRONSYNC_SOURCE_NETWORK',
  server: 'CRONSYNC_SOURCE_SERVER',
  corrupt: 'CRONSYNC_SOURCE_CORRUPT',
  other: 'CRONSYNC_SOURCE_FETCH',
};

/** SourceError is transient: the daemon keeps the last snapshot and retries with backoff. */
export class SourceError extends CronsyncError {
  static override readonly code = 'CRONSYNC_SOURCE_FETCH' as const;
  readonly kind: SourceErrorKind;
  constructor(kind: SourceErrorKind, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(sourceCodes[kind], message, data, options);
    this.kind = kind;
  }
}

/** SchedulerError is a failed scheduler call; it is retried on the next tick. */
export class SchedulerError extends CronsyncError {
  static override readonly code = 'CRONSYNC_SCHEDULER' as const;
  constructor(message: string, data: { argv?: readonly string[]; exitCode?: number | null; stderr?: string } & Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(SchedulerError.code, message, data, options);
  }
}

/** OwnershipConflict is an entry that is not ours: reported, never touched. */
export class OwnershipConflict extends CronsyncError {
  static override readonly code = 'CRONSYNC_OWNERSHIP_CONFLICT' as const;
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(OwnershipConflict.code, message, data);
  }
}

/** RemovalGuardError stops a sync that would remove too much, until `--force`. */
export class RemovalGuardError extends CronsyncError {
  static override readonly code = 'CRONSYNC_REMOVAL_GUARD' as const;
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(RemovalGuardError.code, message, data);
  }
}

/** JobNotFoundError is `cronsync exec` of a job with no snapshot in the state dir. */
export class JobNotFoundError extends CronsyncError {
  static override readonly code = 'CRONSYNC_JOB_NOT_FOUND' as const;
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(JobNotFoundError.code, message, data);
  }
}

/** SecretsError is an unreadable, unsafe or incomplete secrets file or variable. */
export class SecretsError extends CronsyncError {
  static override readonly code = 'CRONSYNC_SECRETS' as const;
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(SecretsError.code, message, data);
  }
}

/** Narrows an unknown thrown value to a CronsyncError. */
export function isCronsyncError(err: unknown): err is CronsyncError {
  return err instanceof CronsyncError;
}

/** Schemes WHATWG URL parses with special rules: `\` counts as `/`, and any run of slashes leads to the host. */
const SPECIAL_SCHEMES = new Set(['http', 'https', 'ws', 'wss', 'ftp', 'file']);

/**
 * Where the userinfo of the URL that `text` is lies, `@` included, read the way WHATWG URL reads
 * it: leading spaces and controls skipped, tabs and newlines ignored, the authority ending at the
 * first `/`, `?` or `#` (and `\` for special schemes), the userinfo at its last `@`.
 */
function userinfoSpan(text: string): { start: number; end: number } | null {
  const m = /^[\0- ]*([a-z][a-z0-9+.-]*):/i.exec(text);
  if (!m) return null;
  const special = SPECIAL_SCHEMES.has((m[1] as string).toLowerCase());
  let i = m[0].length;
  if (special) {
    while (i < text.length && '/\\\t\n\r'.includes(text[i] as string)) i++;
  } else {
    for (let slashes = 0; slashes < 2; i++) {
      if (text[i] === '/') slashes++;
      else if (text[i] === undefined || !'\t\n\r'.includes(text[i] as string)) return null;
    }
  }
  const start = i;
  let at = -1;
  for (; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '/' || c === '?' || c === '#' || (special && c === '\\')) break;
    if (c === '@') at = i;
  }
  return at < 0 ? null : { start, end: at + 1 };
}

/** The URL `text` parsed by WHATWG URL, or null when it is not one. */
function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/**
 * `text` without the userinfo of the URL it is, when WHATWG URL reads one. Only that span is
 * cut, so the rest stays byte for byte as written (source ids hash the result); should the cut
 * not satisfy the parser, the parser's own serialization without credentials is used.
 */
function stripWholeUrl(text: string): string {
  const u = parseUrl(text);
  if (!u || (u.username === '' && u.password === '')) return text;
  const span = userinfoSpan(text);
  if (span) {
    const out = text.slice(0, span.start) + text.slice(span.end);
    const v = parseUrl(out);
    if (v && v.username === '' && v.password === '') return out;
  }
  u.username = '';
  u.password = '';
  return u.href;
}

/**
 * Where an authority may start in a text: after `://` (or `:\\`, which WHATWG URL reads as `//`
 * for http(s)), or right after the colon of a special scheme written without slashes
 * (`https:user:pw@host`, which WHATWG URL reads as `https://user:pw@host`).
 */
const AUTHORITY_START = /:[/\\]{2}|\b(?:https?|wss?|ftp):(?=[^\s/\\])/gi;

/**
 * `text` with the userinfo of every URL in it removed (see AUTHORITY_START). A password may hold
 * spaces and `@` (URL parsers accept both), so the userinfo runs to the last `@` before the
 * authority ends at `/`, `?`, `#` or the end of the line. In prose this can also cut words
 * between a URL without a path and a later `@` on the same line: a shorter message, never a
 * secret left behind.
 */
function stripEmbeddedUrls(text: string): string {
  let out = '';
  let from = 0;
  const re = new RegExp(AUTHORITY_START.source, 'gi');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let start = m.index + m[0].length;
    // WHATWG URL skips any further slashes before the authority of http(s) (`https:///u:p@h`).
    while (text[start] === '/' || text[start] === '\\') start++;
    let end = start;
    let at = -1;
    for (; end < text.length; end++) {
      const c = text[end];
      if (c === '/' || c === '?' || c === '#' || c === '\n' || c === '\r') break;
      if (c === '@') at = end;
    }
    if (at >= 0 && start >= from) {
      out += text.slice(from, start);
      from = at + 1;
    }
    // The `/` that ended this authority may begin the next URL's `://`.
    re.lastIndex = Math.max(start, end - 1);
  }
  return out + text.slice(from);
}

/**
 * Removes userinfo (user:password@) from a URL, or from every URL found in a longer text such as
 * an error message. A text that is one URL is read as WHATWG URL reads it (the parser Node uses
 * to fetch), so whatever it would send as credentials is removed, whether the password holds
 * spaces, `@`, percent-escapes or a line break, and whatever the host (IPv6 too); the rest of
 * the URL is kept as written. scp-like `git@host:path` remotes are kept: there, `git` names the
 * SSH account and is no secret (ssh takes no password from a remote).
 */
export function stripUrlCredentials(text: string): string {
  // Every string logged comes through here; without an `@` there is no userinfo to find.
  if (!text.includes('@')) return text;
  return stripEmbeddedUrls(stripWholeUrl(text));
}

/**
 * Removes the password from the userinfo of the URL `url`, keeping the user name: for SSH, where
 * the user name picks the account and a password in the URL is never used. An empty password
 * (`user:@`) is left as it is.
 */
export function stripUrlPassword(url: string): string {
  const span = userinfoSpan(url);
  if (!span) return url;
  const colon = url.indexOf(':', span.start);
  if (colon < 0 || colon >= span.end - 2) return url;
  return url.slice(0, colon) + url.slice(span.end - 1);
}

/**
 * Whether `CRONSYNC_DEBUG` asks for stack traces of internal errors (for bug reports): any value
 * but empty, `0`, `false`, `no` or `off` (in any case).
 */
export function debugEnabled(env: Record<string, string | undefined>): boolean {
  const v = env.CRONSYNC_DEBUG;
  return v !== undefined && !/^(|0|false|no|off)$/i.test(v.trim());
}

/** The errno code of `err` or of the error it wraps (an IoError's cause); `ENOTREG` included. */
export function errnoOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) ? e.code : e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

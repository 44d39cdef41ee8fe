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

/**
 * Removes userinfo (user:password@) from every URL found in a text. The userinfo ends at the
 * last `@` of the authority: URL parsers accept a raw `@` in the password, so stopping at the
 * first one would leave the rest of the password in place.
 */
export function stripUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s?#]*@/gi, '$1');
}

/**
 * Logging: pino JSON lines on stdout (journald and the Windows log file take them as they
 * are), pino-pretty only when stdout is a terminal. Every record passes through one
 * sanitizer that redacts secret-looking fields at any depth and strips credentials from
 * URLs in messages, fields, bindings and serialized errors.
 */
import pino from 'pino';
import type { DestinationStream, LoggerOptions } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';
import { UsageError, stripUrlCredentials } from './errors.js';
import { REDACTED } from './shim/checkin.js';

/** A log method: data in fields, a static message (STYLE §4). */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/**
 * Logger is the logging port other modules depend on. A pino logger satisfies it; tests can
 * pass {@link createLogger} with a sink stream or {@link nullLogger}.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger whose records all carry `bindings` (e.g. `{ jobId }`). */
  child(bindings: Record<string, unknown>): Logger;
}

/** The levels `--log-level` accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** LogLevel is one of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The text that replaces a redacted value: one spelling for logs and check-in messages. */
export { REDACTED };

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Minimum level written; default `info`. */
  level?: LogLevel;
  /** Where lines go; default stdout (fd 1, synchronous so nothing is lost at exit). */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Force pretty output on or off; default: pretty only when writing to a stdout that is a TTY. */
  pretty?: boolean;
  /** Fields every record carries (e.g. `{ agent: 'host-1' }`). */
  bindings?: Record<string, unknown>;
}

/**
 * Field names whose values are secrets wherever they appear. Names ending in File/Env/Path
 * (`passwordFile`, `secretEnv`) only say where a secret lives and are kept.
 */
const SENSITIVE_KEY = /secret|passw(or)?d|pwd|token|authori[sz]ation|cookie|api[-_]?key|credential|private[-_]?key|signature/i;
const KEY_NAMES_A_LOCATION = /(File|Env|Path|Dir)$/;
const MAX_DEPTH = 10;
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Tells whether a field of this name holds a secret. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key) && !KEY_NAMES_A_LOCATION.test(key);
}

/**
 * Returns a copy of `value` safe to log: secret-named fields replaced by {@link REDACTED},
 * URL credentials stripped from every string, errors serialized (message, stack, `code`,
 * `data`, `cause`) and sanitized the same way. Cycles and depth beyond 10 are cut.
 */
export function sanitizeForLog(value: unknown): unknown {
  return sanitize(value, 0, new WeakSet());
}

/**
 * Credentials after an HTTP auth scheme, wherever they appear in a text (`Authorization: Basic …`).
 * The schemes are matched as headers spell them, so prose such as "basic authentication
 * required" keeps its words; after `token` (GitHub's scheme, but also an everyday word) only a
 * value that looks like a credential (8+ characters with a digit or symbol) is redacted, so
 * "Token expired" and "invalid token received" stay readable.
 */
const AUTH_SCHEME_VALUE = /\b(Basic|Bearer|Digest|Negotiate)(\s+)[A-Za-z0-9._~+/=-]{6,}/g;
const TOKEN_VALUE = /\b([Tt]oken)(\s+)(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}/g;

function sanitizeText(text: string): string {
  return stripUrlCredentials(text).replace(AUTH_SCHEME_VALUE, `$1$2${REDACTED}`).replace(TOKEN_VALUE, `$1$2${REDACTED}`);
}

function sanitize(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return sanitizeText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  if (value instanceof Error) return sanitize(serializeError(value), depth, seen);
  if (Array.isArray(value)) return sanitizeList(value, depth, seen);
  if (value instanceof URL) return stripUrlCredentials(value.href);
  // Headers and Maps keep their entries out of Object.entries(); log them as plain fields.
  // Headers is told by its tag: reading the global would load Node's bundled undici (~1 MiB).
  if (value instanceof Map || Object.prototype.toString.call(value) === '[object Headers]') {
    return sanitizeFields([...(value as Map<unknown, unknown>).entries()].map(([k, v]) => [String(k), v]), depth, seen);
  }
  return sanitizeFields(Object.entries(value), depth, seen);
}

function sanitizeFields(entries: [string, unknown][], depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) out[k] = redactsValue(k, v) ? REDACTED : sanitize(v, depth + 1, seen);
  return out;
}

/** Whether the value under `key` is replaced: a secret-named field, or a `user:password` string under `auth`. */
function redactsValue(key: string, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  return isSensitiveKey(key) || (/^(proxy-?)?auth$/i.test(key) && typeof v === 'string');
}

/**
 * Arrays, where a header can be a name followed by its value: Node's `rawHeaders`
 * (`['Authorization', 'Basic …']`) and `[name, value]` pairs. A value after a secret name is redacted.
 */
function sanitizeList(list: readonly unknown[], depth: number, seen: WeakSet<object>): unknown[] {
  return list.map((v, i) => {
    const name = list[i - 1];
    // Only a word that can be a header name counts as one (no spaces): a list of sentences is prose.
    if (i > 0 && typeof name === 'string' && HEADER_NAME.test(name) && typeof v === 'string' && redactsValue(name, v)) return REDACTED;
    return sanitize(v, depth + 1, seen);
  });
}

/** An Error as plain data: type, message, stack, own fields (`code`, `data`, ...), `errors` of an AggregateError, and cause. */
function serializeError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.constructor.name, message: err.message, stack: err.stack };
  for (const [k, v] of Object.entries(err)) if (!(k in out)) out[k] = v;
  if (err instanceof AggregateError && Array.isArray(err.errors)) out.errors = err.errors;
  if (err.cause !== undefined) out.cause = err.cause;
  return out;
}

/**
 * Parses a `--log-level` value.
 * @throws {UsageError} when the value is not one of {@link LOG_LEVELS}.
 */
export function parseLogLevel(text: string): LogLevel {
  const level = text.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new UsageError(`Unknown log level "${text}"; expected one of ${LOG_LEVELS.join(', ')}`, { value: text });
}

/** Pure: whether output is pretty, given the option and whether stdout is a TTY. */
export function resolvePretty(option: boolean | undefined, hasCustomDestination: boolean, stdoutIsTTY: boolean): boolean {
  if (option !== undefined) return option;
  return !hasCustomDestination && stdoutIsTTY;
}

/** pino options shared by every logger cronsync creates. Exported for tests. */
export function loggerOptions(level: LogLevel, bindings: Record<string, unknown> = {}): LoggerOptions {
  return {
    level,
    base: sanitizeForLog(bindings) as Record<string, unknown>,
    timestamp: pino.stdTimeFunctions.isoTime,
    // formatters.log has already turned errors into sanitized data.
    serializers: { err: (v: unknown) => v },
    // Belt and braces for the common shapes; sanitizeForLog below covers every depth.
    redact: {
      paths: ['password', 'secret', 'token', 'authorization', 'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie'],
      censor: REDACTED,
    },
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (b) => sanitizeForLog(b) as Record<string, unknown>,
      log: (obj) => sanitizeForLog(obj) as Record<string, unknown>,
    },
    hooks: {
      // pino takes the message of a bare `log.error(err)` from err.message after this hook,
      // so an Error first argument without a message gets its sanitized message here.
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        if (first instanceof Error && (rest.length === 0 || typeof rest[0] !== 'string')) {
          return method.apply(this, [{ err: first }, sanitizeText(first.message)] as never);
        }
        const clean = args.map((a: unknown) => (typeof a === 'string' ? sanitizeText(a) : a));
        return method.apply(this, clean as never);
      },
    },
  };
}

/**
 * Creates the process logger.
 * @example createLogger({ level: parseLogLevel(flags.logLevel ?? 'info') })
 */
export function createLogger(opts: CreateLoggerOptions = {}): pino.Logger {
  const level = opts.level ?? 'info';
  const isPretty = resolvePretty(opts.pretty, opts.destination !== undefined, process.stdout.isTTY === true);
  const options = loggerOptions(level, opts.bindings);
  let log: pino.Logger;
  if (isPretty) {
    const dest = opts.destination ?? 1;
    // pino-pretty (~4 MB) is loaded only for a terminal; services never pay for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const stream = pretty({ colorize: opts.destination === undefined, translateTime: 'SYS:standard', ignore: 'pid,hostname', destination: dest as never, sync: true });
    log = pino(options, stream);
  } else {
    log = pino(options, (opts.destination ?? pino.destination({ dest: 1, sync: true })) as DestinationStream);
  }
  return sanitizeChildBindings(log);
}

/**
 * pino resets the bindings formatter for children, so child bindings are sanitized here.
 * The override is set once on the root; children inherit it and pass themselves as `this`.
 */
function sanitizeChildBindings(root: pino.Logger): pino.Logger {
  const realChild = root.child as unknown as (this: pino.Logger, b: Record<string, unknown>, o?: pino.ChildLoggerOptions) => pino.Logger;
  const child = function (this: pino.Logger, bindings: Record<string, unknown>, options?: pino.ChildLoggerOptions) {
    return realChild.call(this, sanitizeForLog(bindings) as Record<string, unknown>, options);
  };
  Object.defineProperty(root, 'child', { value: child, writable: true, configurable: true });
  return root;
}

function noop(): void {}

/** A logger that drops everything; for tests and library callers that do not log. */
export const nullLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => nullLogger };

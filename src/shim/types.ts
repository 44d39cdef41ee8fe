/** Types shared by the shim modules. */

/** Logger is the minimal structured logger the shim needs (pino-compatible call shape). */
export interface Logger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** WritableLike is what the shim writes a job's output to (process.stdout or a test sink). */
export interface WritableLike {
  write(chunk: Uint8Array | string): unknown;
}

/** Exit codes of `cronsync exec` besides the job's own (sysexits.h and timeout(1) conventions). */
export const EXIT = {
  /** Bad command line (EX_USAGE). */
  usage: 64,
  /** Internal error (EX_SOFTWARE). */
  internal: 70,
  /** `spec.user` cannot be used: no such account, or the shim cannot switch to it (EX_NOUSER). */
  runAs: 67,
  /** Secrets file unsafe or unreadable, or a `${VAR}` not set (EX_NOPERM). */
  secrets: 77,
  /** No job snapshot, or an unreadable one: the job is not installed (EX_CONFIG). */
  noJob: 78,
  /** The run hit `spec.timeout` (as timeout(1)). */
  timeout: 124,
} as const;

/**
 * Types of the source stage (SPEC §1): a Source yields an immutable Snapshot of the manifest
 * files at one commit, with provenance and the change set against the previous snapshot.
 */
import type { Provenance } from '../manifest/types.js';
import type { Verification } from './verify.js';

/** Default include globs. */
export const DEFAULT_PATHS: readonly string[] = ['**/*.{yaml,yml}'];

/** Default network timeout of one fetch. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Largest manifest file read; bigger files get a per-file error. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** SourceConfig is the `source:` section of the agent config (SPEC §3). */
export interface SourceConfig {
  /** https/http URL, `ssh://…`, `git@host:org/repo.git`, or a local path (git repository or plain directory). */
  url: string;
  /** Branch, tag or full commit SHA. Default: the remote's HEAD (a local repo's HEAD). */
  ref?: string;
  /** Include globs, relative to the repository root. Default {@link DEFAULT_PATHS}. */
  paths?: readonly string[];
  /** Exclude globs. */
  exclude?: readonly string[];
  /** HTTP basic auth; the password is read from a file or an environment variable at each fetch. */
  auth?: { username?: string; passwordFile?: string; passwordEnv?: string };
  /** Timeout of one whole fetch, in milliseconds. Default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /**
   * `source.maxFetchSize` as configured: the most one fetch may download, as bytes or a size
   * string (`512MiB`, `64KiB`). Default 512 MiB. The ref advertisement has a fixed cap of its own.
   */
  maxFetchSize?: string | number;
  /** SSH settings (system git only). */
  ssh?: { keyFile?: string; knownHosts?: string };
}

/** SourceFile is one matching file at the snapshot's commit. */
export interface SourceFile {
  /** Normalised path relative to the source root, `/` separators, never absolute, no `..`. */
  path: string;
  /** Git blob id (for a plain directory, the same hash git would compute). Equal oid = equal content. */
  oid: string;
  /** The bytes; empty when `error` is set. */
  content: Buffer;
  /** Why the file could not be read (too big, not a regular file); lint reports it at `path`. */
  error?: string;
}

/** ChangeSet names the paths that differ from the previous snapshot. */
export interface ChangeSet {
  added: string[];
  modified: string[];
  deleted: string[];
}

/** Snapshot is one immutable view of the matching files at one commit. */
export interface Snapshot {
  sourceId: string;
  /** Repository URL without credentials, or the local path. */
  url: string;
  /** The configured ref, or the branch HEAD pointed at. */
  ref: string;
  /** 40-hex commit, or null for a plain directory. */
  commit: string | null;
  /**
   * The raw object of `commit` (without git's `commit <size>\0` header), for signature
   * verification; absent for a plain directory.
   */
  commitObject?: Buffer;
  /** The signature check of `commit` (`source.verify`), recorded by the reconciler's verify step. */
  verification?: Verification;
  /** ISO 8601 time of the fetch. */
  fetchedAt: string;
  /** Every matching file, sorted by path. */
  files: SourceFile[];
  /** Against `previous` (or the last recorded commit); everything is `added` on a first read. */
  changes: ChangeSet;
  /**
   * True when the commit and the source config equal those of `previous` (or, with no `previous`,
   * of the last fetch recorded in the state dir): no pack was fetched. With `previous`, no file
   * was read either and `files` are previous' files. `files` are always complete.
   */
  unchanged: boolean;
}

/** Source produces one immutable view of the manifests at one commit. */
export interface Source {
  /** Stable id derived from url (without credentials), ref, paths and exclude. */
  readonly id: string;
  /**
   * Fetches a snapshot. Pass the last snapshot applied so that an unchanged source costs one
   * ref advertisement and a change reads only the changed files.
   * @throws {SourceError} classified by kind; the message holds no secret.
   */
  fetch(signal: AbortSignal, previous?: Snapshot): Promise<Snapshot>;
  /** Plain directories only: calls `onChange` (debounced) when a file changes; returns a stop function. */
  watch?(onChange: () => void): () => void;
}

/** Minimal logger port (pino-compatible). */
export interface SourceLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Returns the provenance of document `index` of `file` in `snapshot` (SPEC §4). */
export function provenanceOf(snapshot: Snapshot, file: Pick<SourceFile, 'path'>, index: number): Provenance {
  return { sourceId: snapshot.sourceId, url: snapshot.url, ref: snapshot.ref, commit: snapshot.commit, path: file.path, index };
}

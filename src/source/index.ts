/**
 * createSource picks the source implementation for a URL: http(s) → isomorphic-git smart HTTP,
 * ssh → system git, a local path → the committed tree of a git repository, or a plain directory.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { HttpClient } from 'isomorphic-git';
import { ConfigError, stripUrlCredentials } from '../errors.js';
import { createDirSource } from './dir.js';
import { createGitHttpSource } from './git-http.js';
import { createGitSshSource } from './git-ssh.js';
import { parseSshUrl } from './known-hosts.js';
import { createLocalGitSource } from './local-git.js';
import type { Source, SourceConfig, SourceLog } from './types.js';

export type { ChangeSet, Snapshot, Source, SourceConfig, SourceFile, SourceLog } from './types.js';
export { DEFAULT_PATHS, MAX_FILE_BYTES, provenanceOf } from './types.js';
export { sourceIdOf, displayUrl } from './select.js';
export { DEFAULT_MAX_FETCH_BYTES, MAX_ADVERTISEMENT_BYTES, formatSize, sizeBytes } from './limits.js';

/** Dependencies of every source. */
export interface SourceDeps {
  /** The agent's state dir; clones live in `<stateDir>/sources/<sourceId>/`. */
  stateDir: string;
  log?: SourceLog;
  /** HTTP client for http(s) sources (isomorphic-git shape); default node:http/https. */
  http?: HttpClient;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  /** Relative local paths are resolved against this (default the process cwd). */
  cwd?: string;
  /** System git binary for SSH sources (default `git`). */
  gitBinary?: string;
  /** ssh program for SSH sources (default `ssh`). */
  sshProgram?: string;
  /** Packs kept before a clone is compacted (default 8). */
  compactAfter?: number;
  /** Debounce of a directory source's `watch` (default 500 ms). */
  debounceMs?: number;
}

/** The kind of source a URL names. */
export type SourceKind = 'git-http' | 'git-ssh' | 'local-git' | 'dir';

/** Classifies `url`; for local paths, looks at the disk. Returns the kind and, for local git, its git dir. */
export function detectSource(url: string, cwd = process.cwd()): { kind: SourceKind; path?: string; gitdir?: string } {
  if (/^https?:\/\//i.test(url)) return { kind: 'git-http' };
  if (/^ssh:\/\//i.test(url) || (parseSshUrl(url) && !/^[a-z]:[\\/]/i.test(url) && !url.startsWith('/') && !url.startsWith('.'))) return { kind: 'git-ssh' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^file:\/\//i.test(url)) throw new ConfigError(`source.url: unsupported scheme in ${stripUrlCredentials(url)}`);
  const dir = path.resolve(cwd, url.replace(/^file:\/\//i, ''));
  const dotgit = path.join(dir, '.git');
  if (existsSync(dotgit)) {
    if (statSync(dotgit).isDirectory()) {
      if (existsSync(path.join(dotgit, 'HEAD'))) return { kind: 'local-git', path: dir, gitdir: dotgit };
    } else {
      // A worktree or submodule: `.git` is a file naming the real git dir.
      const m = /^gitdir: (.+)$/m.exec(readFileSync(dotgit, 'utf8'));
      if (m?.[1]) return { kind: 'local-git', path: dir, gitdir: path.resolve(dir, m[1].trim()) };
    }
  }
  if (existsSync(path.join(dir, 'HEAD')) && existsSync(path.join(dir, 'objects')) && existsSync(path.join(dir, 'refs'))) return { kind: 'local-git', path: dir, gitdir: dir };
  return { kind: 'dir', path: dir };
}

/**
 * Creates the source for `config`.
 * @throws {ConfigError} for an unsupported URL scheme, or a `maxFetchSize` that is not a size.
 */
export function createSource(config: SourceConfig, deps: SourceDeps): Source {
  const d = detectSource(config.url, deps.cwd);
  switch (d.kind) {
    case 'git-http':
      return createGitHttpSource(config, deps);
    case 'git-ssh':
      return createGitSshSource(config, deps);
    case 'local-git':
      return createLocalGitSource(config, d.gitdir as string, deps);
    case 'dir':
      return createDirSource(config, d.path as string, deps);
  }
}

/**
 * createSource picks the source implementation for a URL: http(s) → our smart-HTTP client,
 * ssh → system git, a local path → the committed tree of a git repository, or a plain directory.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { HttpClient } from 'isomorphic-git';
import { ConfigError, stripUrlCredentials } from '../errors.js';
import { maxFetchBytesOf } from './limits.js';
import { sourceIdOf } from './select.js';
import { remoteKind } from './url.js';
import type { Snapshot, Source, SourceConfig, SourceLog } from './types.js';

export type { ChangeSet, Snapshot, Source, SourceConfig, SourceFile, SourceLog } from './types.js';
export { DEFAULT_PATHS, MAX_FILE_BYTES, provenanceOf } from './types.js';
export { sourceIdOf, displayUrl } from './select.js';
export { provenanceUrl } from './url.js';
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
  /** Told how many files match once the source has listed them, before it reads them (git sources). */
  onListed?: (files: number) => void;
  /**
   * Leave the clones of other source ids in place (git sources) [false]: a fetch made without
   * the state dir's sync lock (`lint --config`) must not remove a clone a sync is writing.
   */
  keepOtherClones?: boolean;
}

/** The kind of source a URL names. */
export type SourceKind = 'git-http' | 'git-ssh' | 'local-git' | 'dir';

/** Classifies `url`; for local paths, looks at the disk. Returns the kind and, for local git, its git dir. */
export function detectSource(url: string, cwd = process.cwd()): { kind: SourceKind; path?: string; gitdir?: string } {
  const remote = remoteKind(url);
  if (remote) return { kind: remote };
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
 * Creates the source for `config`. The implementation of its kind is imported at the first
 * `fetch` or `watch`, so a process loads only the one it uses: a directory source never loads
 * the git transports, their HTTP and zlib modules, nor an SSH source the HTTP client.
 * @throws {ConfigError} for an unsupported URL scheme, or a `maxFetchSize` that is not a size.
 */
export function createSource(config: SourceConfig, deps: SourceDeps): Source {
  const d = detectSource(config.url, deps.cwd);
  // The git sources check the size when they are made; do it here, where the caller expects it.
  if (d.kind === 'git-http' || d.kind === 'git-ssh') maxFetchBytesOf(config.maxFetchSize);
  let loading: Promise<Source> | undefined;
  const load = (): Promise<Source> => (loading ??= openSource(d, config, deps));
  const source: Source = {
    id: sourceIdOf(config),
    fetch: async (signal: AbortSignal, previous?: Snapshot) => (await load()).fetch(signal, previous),
  };
  if (d.kind === 'dir') source.watch = (onChange) => watchWhenLoaded(load(), onChange, deps.log);
  return source;
}

/** Imports and creates the implementation of kind `d.kind`. */
async function openSource(d: ReturnType<typeof detectSource>, config: SourceConfig, deps: SourceDeps): Promise<Source> {
  switch (d.kind) {
    case 'git-http':
      return (await import('./git-http.js')).createGitHttpSource(config, deps);
    case 'git-ssh':
      return (await import('./git-ssh.js')).createGitSshSource(config, deps);
    case 'local-git':
      return (await import('./local-git.js')).createLocalGitSource(config, d.gitdir as string, deps);
    case 'dir':
      return (await import('./dir.js')).createDirSource(config, d.path as string, deps);
  }
}

/** Starts the loaded source's watch; the returned stop works before the load has finished too. */
function watchWhenLoaded(loading: Promise<Source>, onChange: () => void, log: SourceLog | undefined): () => void {
  let stop: (() => void) | undefined;
  let stopped = false;
  loading.then((s) => {
    if (!stopped) stop = s.watch?.(onChange);
  }, (err: unknown) => log?.warn({ err: { message: (err as Error).message } }, 'Directory watch not started; changes are picked up at the next poll'));
  return () => {
    stopped = true;
    stop?.();
  };
}

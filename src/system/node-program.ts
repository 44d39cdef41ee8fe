/**
 * The node binary that scheduler entries (and helper processes such as the ssh relay) run.
 *
 * `process.execPath` is the binary's real path. Hosts often reach node through a symlink that an
 * upgrade moves: `/usr/local/bin/node` to `/opt/node-v20.18.1/bin/node`, Homebrew's
 * `bin/node` to its `Cellar/node/<version>/`. Entries naming the real path break when the old
 * version is removed, and a daemon still running the removed binary would write that path again
 * at every sync until restarted. So entries name the path this process was started by
 * (`process.argv0`: absolute, or a bare name found on PATH, as `systemd/install.sh`'s wrapper and
 * `#!/usr/bin/env node` start it) when it is this very binary through symlinks, decided once, at
 * the first call (the daemon's first sync, right after its start). Anything else, or on Windows,
 * is the real path.
 */
import { realpathSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * `argv0` when it names `execPath` through symlinks: an absolute path whose real path is
 * `execPath`, or a bare name (no separator) that resolves to it through the first directory of
 * `path` (a PATH value) holding it, as a shell would search; else `execPath`.
 */
export function startedNodePath(argv0: string, execPath: string, path: string | undefined, realpath: (p: string) => string = realpathSync): string {
  const same = (candidate: string): boolean => {
    try {
      return realpath(candidate) === execPath;
    } catch {
      return false;
    }
  };
  if (argv0 === execPath || argv0 === '') return execPath;
  if (isAbsolute(argv0)) return same(argv0) ? argv0 : execPath;
  if (argv0.includes('/') || argv0.includes('\\')) return execPath;
  for (const dir of (path ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, argv0);
    try {
      realpath(candidate);
    } catch {
      continue;
    }
    // The first match on PATH is the one a shell runs: this binary, or another node.
    return same(candidate) ? candidate : execPath;
  }
  return execPath;
}

let program: string | undefined;

/** The node binary entries run (see the module comment); memoised at the first call. */
export function nodeProgram(): string {
  if (program === undefined) {
    program = process.platform === 'win32' ? process.execPath : startedNodePath(process.argv0, process.execPath, process.env.PATH);
  }
  return program;
}

/**
 * The node binary that scheduler entries (and helper processes such as the ssh relay) run.
 *
 * `process.execPath` is the binary's real path. Hosts often reach node through a symlink that an
 * upgrade moves: `/usr/local/bin/node` to `/opt/node-v20.18.1/bin/node`, Homebrew's
 * `bin/node` to its `Cellar/node/<version>/`. Entries naming the real path break when the old
 * version is removed, and a daemon still running the removed binary would write that path again
 * at every sync until restarted. So entries name the path this process was started by
 * (`process.argv0`: absolute, or a bare name found on PATH, as `systemd/install.sh`'s wrapper and
 * `#!/usr/bin/env node` start it) when that is a symlink (itself, not only a directory on its
 * way: `/bin/node` on a merged-/usr system is `/usr/bin/node`, and naming it would make entries
 * differ by how the agent was started) that resolves to this very binary, and every link on the
 * way, and each directory above it, is owned by root or this user and writable by no one else:
 * entries often run as root, and a link someone else can repoint would choose what they run.
 * Decided once, at the first call (the daemon's first sync, right after its start). Anything
 * else, or on Windows, is the real path.
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';

/** File-system calls {@link startedNodePath} makes; the real ones by default (tests pass others). */
export interface NodePathFs {
  realpath(p: string): string;
  lstat(p: string): Pick<Stats, 'isSymbolicLink' | 'uid' | 'mode'>;
  stat(p: string): Pick<Stats, 'uid' | 'mode'>;
  readlink(p: string): string;
}

const realFs: NodePathFs = { realpath: (p) => realpathSync(p), lstat: (p) => lstatSync(p), stat: (p) => statSync(p), readlink: (p) => readlinkSync(p) };

/**
 * Whether `link` is a symlink whose chain of links resolves to `execPath`, each link owned by
 * root or `uid`, and so is each directory from the one holding it up to `/`, which no one else
 * can write (or only with the sticky bit).
 */
function trustedLinkTo(link: string, execPath: string, uid: number, fs: NodePathFs): boolean {
  const owned = (st: Pick<Stats, 'uid'>): boolean => st.uid === 0 || st.uid === uid;
  // A directory no one else can change an entry of: writable by group or others only with the
  // sticky bit (as /tmp), where others cannot rename or remove entries they do not own.
  const safeDir = (st: Pick<Stats, 'uid' | 'mode'>): boolean => owned(st) && ((st.mode & 0o022) === 0 || (st.mode & 0o1000) !== 0);
  const safeAncestors = (dir: string): boolean => {
    for (let d = fs.realpath(dir); ; d = dirname(d)) {
      if (!safeDir(fs.stat(d))) return false;
      if (dirname(d) === d) return true;
    }
  };
  try {
    if (fs.realpath(link) !== execPath || !fs.lstat(link).isSymbolicLink()) return false;
    let at = link;
    for (let hop = 0; hop < 40; hop++) {
      const st = fs.lstat(at);
      if (!st.isSymbolicLink()) return true;
      if (!owned(st) || !safeAncestors(dirname(at))) return false;
      at = resolve(dirname(at), fs.readlink(at));
    }
    return false;
  } catch {
    return false;
  }
}

/**
 * `argv0` when it names `execPath` through a trusted symlink (see the module comment): an
 * absolute path, or a bare name (no separator) found in the first absolute directory of `path`
 * (a PATH value) that holds it, as a shell would search; else `execPath`. `uid`: this process's
 * effective user.
 */
export function startedNodePath(argv0: string, execPath: string, path: string | undefined, uid: number, fs: NodePathFs = realFs): string {
  if (argv0 === execPath || argv0 === '') return execPath;
  if (isAbsolute(argv0)) return trustedLinkTo(argv0, execPath, uid, fs) ? argv0 : execPath;
  if (argv0.includes('/') || argv0.includes('\\')) return execPath;
  for (const dir of (path ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, argv0);
    try {
      fs.realpath(candidate);
    } catch {
      continue;
    }
    // The first match on PATH is the one a shell runs: this binary, or another node.
    return trustedLinkTo(candidate, execPath, uid, fs) ? candidate : execPath;
  }
  return execPath;
}

let program: string | undefined;

/** The node binary entries run (see the module comment); memoised at the first call. */
export function nodeProgram(): string {
  if (program === undefined) {
    program = process.platform === 'win32' ? process.execPath : startedNodePath(process.argv0, process.execPath, process.env.PATH, process.geteuid?.() ?? -1);
  }
  return program;
}

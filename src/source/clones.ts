/**
 * The clones of a state dir: `<stateDir>/sources/<sourceId>/`, one per source id (a hash of
 * `source.url`, `ref`, `paths` and `exclude`).
 */
import { existsSync, lstatSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { SourceLog } from './types.js';

/**
 * Removes the clones under `sourcesDir` of source ids other than `keep`: left by an earlier
 * `source.url`, `ref`, `paths` or `exclude`, each as big as a clone, and read again only if the
 * config goes back (one fetch then rebuilds it).
 */
export function removeOtherClones(sourcesDir: string, keep: string): void {
  for (const f of existsSync(sourcesDir) ? readdirSync(sourcesDir) : []) {
    // rmSync never follows a symlink: a link named like a clone is removed, not what it points at.
    if (f !== keep && /^[0-9a-f]{16}$/.test(f)) rmSync(path.join(sourcesDir, f), { recursive: true, force: true });
  }
}

/**
 * Clears the way for the clone at `gitdir` (`<stateDir>/sources/<id>`): where it or `sources`
 * is anything but a real directory (a regular file, a symlink, a socket), that entry is removed,
 * with a warning naming it, so that the fetch clones again instead of failing on every sync.
 * Both entries are the agent's own, inside its state dir; a symlink is removed itself, never
 * followed (what it points at, anywhere, is left as it is). One exception: `sources` as a
 * symlink to a directory is an administrator's relocation of the clones (to another disk) and
 * is kept.
 * @throws {Error} (errno) when the entry cannot be removed.
 */
export function clearCloneDir(gitdir: string, log?: SourceLog): void {
  const sources = path.dirname(gitdir);
  for (const p of [sources, gitdir]) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) continue;
    if (p === sources && st.isSymbolicLink() && statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue;
    log?.warn({ path: p, found: entryKind(st) }, 'Source clone path is not a directory; removed, the source is cloned again');
    try {
      unlinkSync(p);
    } catch (err) {
      // A symlink to a directory on Windows (or a junction) is removed with rmdir.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EISDIR') throw err;
      rmdirSync(p);
    }
  }
}

function entryKind(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFile()) return 'a regular file';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'a device or other special file';
}

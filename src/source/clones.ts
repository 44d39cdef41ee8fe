/**
 * The clones of a state dir: `<stateDir>/sources/<sourceId>/`, one per source id (a hash of
 * `source.url`, `ref`, `paths` and `exclude`).
 */
import { existsSync, lstatSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { SourceError } from '../errors.js';
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
 * Clears the way for the clone at `gitdir` (`<stateDir>/sources/<id>`): where it, or `sources`,
 * is anything but a real directory (a regular file, a FIFO, a socket; at `sources/<id>` also a
 * symlink), that entry is removed, with a warning naming it, so that the fetch clones again
 * instead of failing on every sync. Both are the agent's own, inside its state dir; a symlink is
 * removed itself, never followed. A symlink at `sources` is an administrator's relocation of the
 * clones (to another disk): kept and used when it leads to a directory, and otherwise (a disk not
 * mounted yet, a loop) never removed: the fetch fails, naming it.
 * @throws {SourceError} for such a link. @throws {Error} (errno) when an entry cannot be removed.
 */
export function clearCloneDir(gitdir: string, log?: SourceLog): void {
  const sources = path.dirname(gitdir);
  for (const p of [sources, gitdir]) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) continue;
    if (p === sources && st.isSymbolicLink()) {
      let target: string;
      try {
        if (statSync(p).isDirectory()) continue;
        target = 'is not a directory';
      } catch (err) {
        target = `cannot be followed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      }
      throw new SourceError('other', `${p} is a symbolic link whose target ${target}: the source's clones cannot be kept there, and cronsync does not remove a link it did not make (mount its disk, or fix or remove the link)`, { path: p });
    }
    log?.warn({ path: p, found: entryKind(st) }, 'Source clone path is not a directory; removed, the source is cloned again');
    try {
      unlinkSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Removed meanwhile by another process clearing the same path (a daemon and a diff).
      if (code === 'ENOENT') continue;
      // A symlink to a directory on Windows (or a junction) is removed with rmdir.
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

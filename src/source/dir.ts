/**
 * A plain directory read as it is. Symlinks are never followed (a matching one, or one to a
 * directory that may hold selected files, is an error at its path), `.git` is skipped, and in
 * daemon mode chokidar watches the tree, debounced.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { watch as chokidarWatch } from 'chokidar';
import { errnoOf, SourceError } from '../errors.js';
import { linkedDirRefused, refusedEntry } from '../system/walk.js';
import { blobOid, diffFiles, fileOids, keptUnder, makeDirUnselected, makeMatcher, sourceIdOf } from './select.js';
import { MAX_FILE_BYTES } from './types.js';
import type { Snapshot, Source, SourceConfig, SourceFile, SourceLog } from './types.js';

const SEP = Buffer.from(path.sep);

/** Dependencies of the directory source. */
export interface DirDeps {
  now?: () => Date;
  /** Debounce of `watch`, in ms (default 500). */
  debounceMs?: number;
  log?: SourceLog;
  /**
   * Called with each entry the listing names (its path, and whether it is a directory) before it
   * is opened: a test seam for the tree changing between listing and reading.
   */
  beforeOpen?: (rel: string, isDirectory: boolean) => Promise<void> | void;
}

/** Listings of the tree one fetch makes at most while files vanish between listing and reading. */
export const MAX_LISTINGS = 4;

/** A listed file or directory was gone when opened: changed meanwhile (an editor's save, rsync). */
class VanishedError extends Error {
  constructor(readonly rel: string, cause: unknown) {
    super(`${rel} vanished between listing and reading`, { cause });
  }
}

/** Runs `open` on listed entry `rel`; an entry gone meanwhile becomes a {@link VanishedError}. */
async function opened<T>(rel: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a listed directory (or one above the file) replaced by a file.
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VanishedError(rel, err);
    // Named in the source's error (a directory it cannot list, EACCES): see fetch.
    if (err instanceof Error) Object.assign(err, { rel });
    throw err;
  }
}

/** Creates a source reading directory `root`. */
export function createDirSource(config: SourceConfig, root: string, deps: DirDeps = {}): Source {
  const id = sourceIdOf(config);
  const match = makeMatcher(config.paths, config.exclude);
  const unselectedDir = makeDirUnselected(config.paths, config.exclude);
  const now = deps.now ?? (() => new Date());

  /**
   * A directory below the root this agent may not list (`lost+found` on a mounted volume) is
   * skipped when no selected file can be under it, and is an error at its path otherwise: its
   * files are not known to be gone, and the plan keeps the jobs of the files that were under
   * it, while the rest of the tree syncs. Any other error is rethrown (see fetch).
   */
  const unlistable = (rel: string, err: unknown): { error?: string } => {
    const code = errnoOf(err);
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    const why = unselectedDir(rel);
    if (why === null) return { error: `cannot list this directory (${code}): ${keptUnder(rel, "give the agent's user read and search rights on it")}` };
    deps.log?.debug({ path: root, dir: rel, code, unselected: why }, 'Skipped a directory this agent may not list: no selected file can be under it');
    return {};
  };

  /**
   * Why listed symbolic link `rel` is refused as a directory (it leads to one, or where this agent
   * may not look), or undefined. A link gone or replaced meanwhile (by the directory itself) is a
   * change: the tree is listed again.
   */
  const linkedDir = async (rel: string, full: Buffer): Promise<string | undefined> => {
    const why = await linkedDirRefused(full);
    if (!(await opened(rel, () => lstat(full))).isSymbolicLink()) throw new VanishedError(rel, undefined);
    return why === undefined ? undefined : `${why}; ${keptUnder(rel, 'put the directory itself there')}`;
  };

  async function readAll(): Promise<SourceFile[]> {
    const files: SourceFile[] = [];
    /** An entry that is not read: `error` at its path, reported as `source-file`. */
    const refuse = (path: string, error: string): void => void files.push({ path, oid: blobOid(Buffer.alloc(0)), content: Buffer.alloc(0), error });
    // Names are read as bytes: a name that is not UTF-8 (`l\xe9.yaml` from a Latin-1 host) is
    // shown with U+FFFD, as the git sources show it, but opened by its own bytes. Opened by the
    // name as shown, it failed with ENOENT and took the whole source down.
    const walk = async (dir: Buffer, prefix: string): Promise<void> => {
      const list = () => readdir(dir, { withFileTypes: true, encoding: 'buffer' });
      // The root itself missing is the source missing, not a concurrent edit (see fetch).
      const entries = await (prefix === '' ? list() : opened(prefix.slice(0, -1), list).catch((err: unknown) => unlistable(prefix.slice(0, -1), err)));
      if (!Array.isArray(entries)) {
        if (entries.error !== undefined) refuse(prefix.slice(0, -1), entries.error);
        return;
      }
      for (const d of entries) {
        const name = d.name.toString('utf8');
        const rel = prefix + name;
        const full = Buffer.concat([dir, SEP, d.name]);
        if (d.isDirectory()) {
          if (name === '.git') continue;
          await deps.beforeOpen?.(rel, true);
          await walk(full, rel + '/');
          continue;
        }
        // A selected name is refused as a file (below), as the git sources refuse it.
        const link = d.isSymbolicLink() && !match(rel) && unselectedDir(rel) === null;
        if (!link && !match(rel)) continue;
        await deps.beforeOpen?.(rel, false);
        // An error at the link's path: the installed jobs of the files under it are kept (their
        // files are not known to be gone), and the rest of the tree syncs.
        const linked = link ? await linkedDir(rel, full) : undefined;
        if (linked !== undefined) refuse(rel, linked);
        if (linked !== undefined || !match(rel)) continue;
        const st = await opened(rel, () => lstat(full));
        const err = refusedEntry(st) ?? (st.size > MAX_FILE_BYTES ? `file is ${st.size} bytes, over the 1 MiB limit` : undefined);
        if (err) refuse(rel, err);
        else {
          const content = await opened(rel, () => readFile(full)).catch((e: unknown) => {
            // A file this agent may not read (a chmod gone wrong) is that file's error, reported
            // as source-file and its jobs kept at their last version; the other files sync.
            const code = (e as NodeJS.ErrnoException).code;
            if (code === 'EACCES' || code === 'EPERM') return `cannot read the file (${code}: permission denied for this agent's user)`;
            throw e;
          });
          if (typeof content === 'string') files.push({ path: rel, oid: blobOid(Buffer.from(`\0unreadable ${content}`)), content: Buffer.alloc(0), error: content });
          else files.push({ path: rel, oid: blobOid(content), content });
        }
      }
    };
    await walk(Buffer.from(root), '');
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  return {
    id,
    async fetch(_signal, previous): Promise<Snapshot> {
      let files: SourceFile[] | undefined;
      // A file deleted or renamed between the listing and its read (an editor's save, rsync) is
      // no deletion to sync: the tree is listed again, so that only what is gone from a listing
      // counts as gone, and what replaced it is read.
      for (let listing = 1; files === undefined; listing++) {
        try {
          files = await readAll();
        } catch (err) {
          if (err instanceof VanishedError) {
            if (listing < MAX_LISTINGS) {
              deps.log?.debug({ path: root, file: err.rel, listing }, 'A file vanished while the directory was read; listing it again');
              continue;
            }
            throw new SourceError('other', `Directory source ${root}: ${err.rel} vanished between listing and reading, in ${MAX_LISTINGS} listings in a row (is something rewriting it?); nothing was synced from this read`, { path: root, file: err.rel }, { cause: err.cause });
          }
          const code = (err as NodeJS.ErrnoException).code;
          const rel = (err as { rel?: string }).rel;
          if (code === 'ENOENT' && rel === undefined) {
            throw new SourceError('not-found', `Directory source ${root} does not exist (source.url; CRONSYNC_SOURCE_URL overrides it)`, { path: root }, { cause: err });
          }
          const what = rel === undefined ? '' : `cannot read ${rel}: `;
          throw new SourceError('other', `Directory source ${root}: ${what}${code ?? (err as Error).message}`, { path: root, ...(rel === undefined ? {} : { file: rel }) }, { cause: err });
        }
      }
      const changes = diffFiles(previous ? fileOids(previous.files) : null, files);
      const unchanged = !!previous && previous.sourceId === id && changes.added.length + changes.modified.length + changes.deleted.length === 0;
      return { sourceId: id, url: config.url, ref: '', commit: null, fetchedAt: now().toISOString(), files, changes, unchanged };
    },
    watch(onChange) {
      // A directory no selected file can be under is neither watched nor listed (chokidar offers
      // its stats before reading it): fewer inotify watches, and an unreadable `lost+found`
      // raises no watch error.
      const ignored = (p: string, stats?: { isDirectory(): boolean }): boolean => {
        if (p.split(path.sep).includes('.git')) return true;
        const rel = path.relative(root, p);
        return stats?.isDirectory() === true && rel !== '' && !rel.startsWith('..') && unselectedDir(rel.split(path.sep).join('/')) !== null;
      };
      const watcher = chokidarWatch(root, { ignoreInitial: true, followSymlinks: false, ignored });
      let timer: NodeJS.Timeout | undefined;
      const fire = (): void => {
        clearTimeout(timer);
        timer = setTimeout(onChange, deps.debounceMs ?? 500);
      };
      watcher.on('all', fire);
      // An 'error' event without a listener is thrown, and from a watcher callback that would
      // crash the daemon (ENOSPC when the inotify limit is reached, EACCES on a subdirectory).
      // The poll interval still syncs; the watch only makes changes show up sooner.
      watcher.on('error', (err: unknown) => {
        const e = err as NodeJS.ErrnoException;
        deps.log?.warn({ path: root, err: { code: e?.code, message: e?.message ?? String(err) } }, 'Directory watch failed; changes are picked up at the next poll');
      });
      return () => {
        clearTimeout(timer);
        void watcher.close();
      };
    },
  };
}

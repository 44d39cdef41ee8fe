/** Finding manifest files on disk, and PATH lookups for lint. */
import { accessSync, constants, statSync } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { errnoOf, IoError } from '../errors.js';

/**
 * A manifest file found on disk: its absolute path and the path shown to users. `error` is set
 * for an entry of a walked directory that the agent's sources refuse (a symlink, a FIFO, a
 * symlink to a directory): lint reports it at its path with rule `source-file` instead of
 * opening it.
 */
export interface FoundFile {
  absolute: string;
  display: string;
  error?: string;
  /**
   * The path as bytes, for a name that is not UTF-8 (`l\xe9.yaml` from a Latin-1 host):
   * `absolute` and `display` show it with U+FFFD, as the sources do, and it is opened by these.
   */
  bytes?: Buffer;
}

/** What {@link scanManifestFiles} found, and the paths and directories it could not read. */
export interface ScanResult { files: FoundFile[]; errors: IoError[] }

const MANIFEST = /\.ya?ml$/i;

/** Why a source refuses a manifest path that is a symbolic link: never followed. */
export const SYMLINK_REFUSED = 'symbolic link not followed';

/**
 * Why a source refuses a directory entry (`lstat` or `readdir` with file types) as a manifest,
 * or undefined for a regular file. The directory and Git sources and `lint DIR` all say it with
 * these words, so that lint fails in CI on exactly the files the agent would refuse.
 */
export function refusedEntry(e: { isSymbolicLink(): boolean; isFile(): boolean }): string | undefined {
  return e.isSymbolicLink() ? SYMLINK_REFUSED : !e.isFile() ? 'not a regular file' : undefined;
}

/**
 * Why a source refuses a symbolic link to a directory: it is not followed, so the manifests that
 * may be under it are not read, and would be taken for deleted if it were skipped.
 */
export const SYMLINK_DIR_REFUSED = `${SYMLINK_REFUSED}: it leads to a directory, and no manifest under it is read`;

/**
 * Why the symbolic link at `p` is refused as a directory: it leads to one, or where it leads
 * cannot be looked at (EACCES) or is gone (dangling, a loop), and may be or have been one (a
 * directory of manifests moved away: its jobs are not taken for deleted). Undefined for a link to
 * a file, which holds no manifest.
 */
export async function linkedDirRefused(p: string | Buffer): Promise<string | undefined> {
  try {
    return (await stat(p)).isDirectory() ? SYMLINK_DIR_REFUSED : undefined;
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOTDIR') return undefined;
    const why = code === 'ENOENT' ? 'it leads nowhere' : code === 'ELOOP' ? 'it leads round in a loop' : `where it leads cannot be looked at (${code ?? (err as Error).message})`;
    return `${SYMLINK_REFUSED}: ${why}, and may be a directory whose manifests are not read`;
  }
}

const SEP = Buffer.from(sep);

/**
 * Expands files and directories into the manifest files below them, sorted. Directories are
 * walked without following symlinks (one to a directory is returned with an error), and without
 * the dot-names and `node_modules` below them; a file named explicitly is taken whatever its
 * name. A path or directory that cannot be read is returned in `errors` and the rest are still
 * walked, so that lint reports every problem in one run.
 */
export async function scanManifestFiles(paths: readonly string[], cwd: string): Promise<ScanResult> {
  const out: FoundFile[] = [];
  const errors: IoError[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let st;
    try {
      st = await lstat(abs);
    } catch (err) {
      errors.push(new IoError(`cannot read ${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`, { path: p }));
      continue;
    }
    if (st.isDirectory()) await walk(abs, cwd, out, errors);
    else out.push({ absolute: abs, display: show(abs, cwd) });
  }
  const seen = new Set<string>();
  const key = (f: FoundFile): string => (f.bytes ? `bytes:${f.bytes.toString('hex')}` : f.absolute);
  const files = out.filter((f) => !seen.has(key(f)) && seen.add(key(f))).sort((a, b) => a.display.localeCompare(b.display));
  return { files, errors };
}

async function walk(dir: string, cwd: string, out: FoundFile[], errors: IoError[], dirBytes?: Buffer): Promise<void> {
  let entries;
  try {
    // Names are read as bytes: one that is not UTF-8 is shown with U+FFFD but opened by its own
    // bytes (opened by the name as shown, it failed with ENOENT, exit 2), as the dir source does.
    entries = await readdir(dirBytes ?? dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    errors.push(new IoError(`cannot read directory ${show(dir, cwd)}: ${(err as Error).message}`, { path: dir }));
    return;
  }
  for (const e of entries) {
    const name = e.name.toString('utf8');
    // The agent's default selection `**/*.{yaml,yml}` (picomatch, dot: false) never reads a
    // dot-name (`.git`, `.github/workflows/ci.yml`, `.gitlab-ci.yml`), so neither does lint; nor
    // node_modules, where `npx cronsync lint .` runs.
    if (name.startsWith('.') || name === 'node_modules') continue;
    const abs = join(dir, name);
    const bytes = dirBytes !== undefined || !Buffer.from(name).equals(e.name) ? Buffer.concat([dirBytes ?? Buffer.from(dir), SEP, e.name]) : undefined;
    if (e.isDirectory()) {
      await walk(abs, cwd, out, errors, bytes);
      continue;
    }
    // A symlink to a directory is not followed, and is refused as the agent's source refuses it:
    // skipped, the manifests under it would go unlinted without a word.
    const linked = e.isSymbolicLink() ? await linkedDirRefused(bytes ?? abs) : undefined;
    if (linked !== undefined) {
      out.push({ absolute: abs, display: show(abs, cwd), error: linked, ...(bytes === undefined ? {} : { bytes }) });
    } else if (MANIFEST.test(name)) {
      // Refused as the sources refuse it (never opened: a FIFO would block).
      const error = refusedEntry(e);
      out.push({ absolute: abs, display: show(abs, cwd), ...(error === undefined ? {} : { error }), ...(bytes === undefined ? {} : { bytes }) });
    }
  }
}

function show(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return (rel && !rel.startsWith('..') ? rel : abs).split(sep).join('/');
}

/** Returns a cached lookup: is this bare command name an executable file in PATH? */
export function commandInPath(pathVar: string): (name: string) => boolean {
  const dirs = pathVar.split(delimiter).filter(Boolean);
  const cache = new Map<string, boolean>();
  return (name) => {
    let hit = cache.get(name);
    if (hit === undefined) {
      hit = dirs.some((d) => {
        const f = join(d, name);
        try {
          accessSync(f, constants.X_OK);
          return statSync(f).isFile();
        } catch {
          return false;
        }
      });
      cache.set(name, hit);
    }
    return hit;
  };
}

/** Finding manifest files on disk, and PATH lookups for lint. */
import { accessSync, constants, statSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { IoError } from '../errors.js';

/**
 * A manifest file found on disk: its absolute path and the path shown to users. `error` is set
 * for an entry of a walked directory that the agent's sources refuse (a symlink, a FIFO): lint
 * reports it at its path with rule `source-file`, as `sync` does, instead of opening it.
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
const SKIP_DIRS = new Set(['.git', 'node_modules', '.cronsync']);
const SEP = Buffer.from(sep);

/**
 * Expands files and directories into the manifest files below them, sorted. Directories are
 * walked without following symlinks; a file named explicitly is taken whatever its extension.
 * A path or directory that cannot be read is returned in `errors` and the rest are still
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
    const abs = join(dir, name);
    const bytes = dirBytes !== undefined || !Buffer.from(name).equals(e.name) ? Buffer.concat([dirBytes ?? Buffer.from(dir), SEP, e.name]) : undefined;
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(name)) await walk(abs, cwd, out, errors, bytes);
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

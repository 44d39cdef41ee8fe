/** Finding manifest files on disk, and PATH lookups for lint. */
import { accessSync, constants, statSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { IoError } from '../errors.js';

/** A manifest file found on disk: its absolute path and the path shown to users. */
export interface FoundFile { absolute: string; display: string }

const MANIFEST = /\.ya?ml$/i;
const SKIP_DIRS = new Set(['.git', 'node_modules', '.cronsync']);

/**
 * Expands files and directories into the manifest files below them, sorted. Directories are
 * walked without following symlinks; a file named explicitly is taken whatever its extension.
 * @throws {IoError} when a path does not exist or cannot be read.
 */
export async function findManifestFiles(paths: readonly string[], cwd: string): Promise<FoundFile[]> {
  const out: FoundFile[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let st;
    try {
      st = await lstat(abs);
    } catch (err) {
      throw new IoError(`cannot read ${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`, { path: p });
    }
    if (st.isDirectory()) await walk(abs, cwd, out);
    else out.push({ absolute: abs, display: show(abs, cwd) });
  }
  const seen = new Set<string>();
  return out.filter((f) => !seen.has(f.absolute) && seen.add(f.absolute)).sort((a, b) => a.display.localeCompare(b.display));
}

async function walk(dir: string, cwd: string, out: FoundFile[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new IoError(`cannot read directory ${show(dir, cwd)}: ${(err as Error).message}`, { path: dir });
  }
  for (const e of entries) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) await walk(abs, cwd, out);
    } else if (e.isFile() && MANIFEST.test(e.name)) {
      out.push({ absolute: abs, display: show(abs, cwd) });
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

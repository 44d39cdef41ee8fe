/**
 * Git tree and commit objects: parse them and list a commit's files recursively. Pure: objects
 * come from a reader function.
 */
import type { GitObject } from './pack.js';

/** One file of a tree listing. */
export interface TreeEntry {
  /** Path from the root, `/` separated. */
  path: string;
  /** Octal mode as git writes it: `100644`, `100755`, `120000` (symlink), `160000` (submodule). */
  mode: string;
  oid: string;
  /** Blob size when known without reading the blob. */
  size?: number;
}

/** Reads one object by id; undefined when absent. */
export type ObjectReader = (oid: string) => GitObject | undefined;

/** TreeError is a missing or malformed tree, commit or tag object. */
export class TreeError extends Error {
  override readonly name = 'TreeError';
}

/** NotCommitError is a ref that names a tree or a blob (or a tag of one) instead of a commit. */
export class NotCommitError extends TreeError {
  constructor(readonly oid: string, readonly type: string) {
    super(`object ${oid} is a ${type}, not a commit`);
  }
}

/** Directories nested deeper than this are not read (they keep the recursion bounded). */
export const MAX_TREE_DEPTH = 256;

/** Parses the entries of a tree object. */
export function parseTree(data: Buffer): Array<{ mode: string; name: string; oid: string }> {
  const out: Array<{ mode: string; name: string; oid: string }> = [];
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    const nul = data.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 21 > data.length) throw new TreeError('malformed tree object');
    out.push({ mode: data.toString('latin1', pos, sp), name: data.toString('utf8', sp + 1, nul), oid: data.toString('hex', nul + 1, nul + 21) });
    pos = nul + 21;
  }
  return out;
}

/** Returns the header field `name` (`tree`, `object`, `type`) of a commit or tag object. */
export function headerField(data: Buffer, name: string): string | undefined {
  const end = data.indexOf('\n\n');
  for (const line of data.toString('utf8', 0, end < 0 ? data.length : end).split('\n')) {
    if (line.startsWith(name + ' ')) return line.slice(name.length + 1);
  }
  return undefined;
}

/**
 * Follows annotated tags from `oid` to a commit; returns the commit id.
 * @throws {NotCommitError} when the chain ends at a tree or a blob.
 * @throws {TreeError} when an object is missing.
 */
export function peelToCommit(read: ObjectReader, oid: string): string {
  for (let i = 0; i < 16; i++) {
    const obj = read(oid);
    if (!obj) throw new TreeError(`object ${oid} is missing`);
    if (obj.type === 'commit') return oid;
    const next = obj.type === 'tag' ? headerField(obj.data, 'object') : undefined;
    if (!next) throw new NotCommitError(oid, obj.type);
    oid = next;
  }
  throw new TreeError('tag chain too long');
}

/** Returns the root tree id of commit `oid`. @throws {TreeError} */
export function commitTree(read: ObjectReader, oid: string): string {
  const obj = read(oid);
  if (!obj || obj.type !== 'commit') throw new TreeError(`commit ${oid} is missing`);
  const tree = headerField(obj.data, 'tree');
  if (!tree || !/^[0-9a-f]{40}$/.test(tree)) throw new TreeError(`commit ${oid} has no tree`);
  return tree;
}

/**
 * Lists every non-tree entry under tree `oid`, sorted by path. Entries whose name could escape
 * the root (`..`, `.`, empty, containing `/` or `\`) are dropped and counted in `unsafe`, and so
 * are directories nested deeper than {@link MAX_TREE_DEPTH}.
 * @throws {TreeError}
 */
export function listTree(read: ObjectReader, oid: string): { entries: TreeEntry[]; unsafe: string[] } {
  const entries: TreeEntry[] = [];
  const unsafe: string[] = [];
  const walk = (treeOid: string, prefix: string, depth: number): void => {
    // Skipped, not thrown: one deep directory anywhere in the repository (matched by the globs
    // or not) failed every fetch, and as a corrupt clone, re-downloaded the whole repository.
    if (depth > MAX_TREE_DEPTH) {
      unsafe.push(prefix);
      return;
    }
    const obj = read(treeOid);
    if (!obj || obj.type !== 'tree') throw new TreeError(`tree ${treeOid} is missing`);
    for (const e of parseTree(obj.data)) {
      if (!isSafeName(e.name)) {
        unsafe.push(prefix + e.name);
        continue;
      }
      if (e.mode === '40000' || e.mode === '040000') walk(e.oid, `${prefix}${e.name}/`, depth + 1);
      else entries.push({ path: prefix + e.name, mode: e.mode.padStart(6, '0'), oid: e.oid });
    }
  };
  walk(oid, '', 0);
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, unsafe };
}

/** Whether a single path component is safe to use under a root. */
export function isSafeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/** Every object id (commit, trees, blobs) reachable from commit `oid` at depth 1, down to {@link MAX_TREE_DEPTH}. */
export function reachable(read: ObjectReader, commit: string): string[] {
  const out = [commit];
  const walk = (treeOid: string, depth: number): void => {
    if (depth > MAX_TREE_DEPTH) return;
    out.push(treeOid);
    const obj = read(treeOid);
    if (!obj) throw new TreeError(`tree ${treeOid} is missing`);
    for (const e of parseTree(obj.data)) {
      if (e.mode === '40000' || e.mode === '040000') walk(e.oid, depth + 1);
      else if (e.mode !== '160000') out.push(e.oid);
    }
  };
  walk(commitTree(read, commit), 0);
  return [...new Set(out)];
}

/**
 * Pure helpers shared by every source: glob selection, the source id, file building with the
 * size and symlink limits, and the change set between two file lists.
 */
import { createHash } from 'node:crypto';
import picomatch from 'picomatch';
import { stripUrlCredentials } from '../errors.js';
import { SYMLINK_DIR_REFUSED, SYMLINK_REFUSED } from '../system/walk.js';
import { DEFAULT_PATHS, MAX_FILE_BYTES } from './types.js';
import type { ChangeSet, Snapshot, SourceConfig, SourceFile, SourceLog } from './types.js';
import { TreeError } from './tree.js';
import { compileGlob, compileGlobs } from './glob.js';
import type { TreeEntry } from './tree.js';

/** Returns a predicate that is true for paths matched by `paths` and not by `exclude`. */
export function makeMatcher(paths: readonly string[] = DEFAULT_PATHS, exclude: readonly string[] = []): (p: string) => boolean {
  const { inc, exc } = globs(paths, exclude);
  return (p) => inc(p) && !exc(p);
}

/** The mode of a submodule (gitlink) in a tree. */
const SUBMODULE_MODE = '160000';
/** The mode of a symbolic link in a tree. */
const SYMLINK_MODE = '120000';

/** Which entries of a commit's tree a git source reads (see {@link makeEntrySelector}). */
export interface EntrySelector {
  (path: string, mode: string): boolean;
  /** Whether a symbolic link at `path` whose name is not selected could stand for a directory holding selected files. */
  linkCandidate(path: string): boolean;
  /** Whether `paths`/`exclude` select the file at `path`. */
  match(path: string): boolean;
}

/**
 * Which entries of a commit's tree a git source reads: the files `paths`/`exclude` select, and
 * each submodule under whose path a selected file could be. buildFiles refuses a submodule at its
 * path, and the plan keeps the jobs of the files that were under it (a directory of manifests
 * turned into a submodule is not taken for deleted). Symbolic links that could stand for such a
 * directory are looked at by {@link linkedDirFiles}.
 */
export function makeEntrySelector(paths: readonly string[] = DEFAULT_PATHS, exclude: readonly string[] = []): EntrySelector {
  const match = makeMatcher(paths, exclude);
  const unselectedDir = makeDirUnselected(paths, exclude);
  const select = (p: string, mode: string): boolean => match(p) || (mode === SUBMODULE_MODE && unselectedDir(p) === null);
  return Object.assign(select, { linkCandidate: (p: string) => !match(p) && unselectedDir(p) === null, match });
}

/**
 * What the jobs of the files under `rel`, a path that could not be read as a directory, become:
 * the plan keeps them (plan.ts, brokenParent), since their files are not known to be gone. `hint`
 * says how to fix it.
 */
export function keptUnder(rel: string, hint: string): string {
  return `the jobs of the files that were under ${rel} keep their last applied version (${hint}, or leave it out with source.exclude "${rel}/**")`;
}

/** The directories and files of a git tree and its symbolic links, from its full listing. */
export interface TreeShape {
  /** The links that could stand for a directory holding selected files (`linkCandidate`). */
  candidates: TreeEntry[];
  /** Every link of the tree (empty when there is no candidate: nothing to resolve). */
  links: TreeEntry[];
  dirs: ReadonlySet<string>;
  /** Every path of the listing, sorted (empty when there is no candidate). */
  paths: readonly string[];
  match: (path: string) => boolean;
}

const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Collects the {@link TreeShape} of a full listing (every non-tree entry) for `select`'s candidate links. */
export function treeShape(all: Iterable<TreeEntry>, select: Pick<EntrySelector, 'linkCandidate' | 'match'>): TreeShape {
  const candidates: TreeEntry[] = [];
  const links: TreeEntry[] = [];
  const paths: string[] = [];
  for (const e of all) {
    paths.push(e.path);
    if (e.mode !== SYMLINK_MODE) continue;
    links.push(e);
    if (select.linkCandidate(e.path)) candidates.push(e);
  }
  if (candidates.length === 0) return { candidates, links: [], dirs: new Set(), paths: [], match: select.match };
  const dirs = new Set<string>(['']);
  for (const p of paths) for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) dirs.add(p.slice(0, i));
  return { candidates, links, dirs, paths: paths.sort(byPath), match: select.match };
}

/** Links followed while resolving one path, as the kernel's limit (ELOOP beyond). */
const MAX_LINK_HOPS = 40;
/** The longest link target followed, as the kernel's PATH_MAX. */
const MAX_LINK_TARGET = 4095;

/**
 * The path inside the tree that link `from` (target `target`) leads to, following the tree's own
 * links (`links`: path → target) in every part of the way as the kernel would, so that `..` after
 * a link climbs from where the link leads; null when it leads out of the tree (an absolute or
 * escaping target), round in a loop, or (with the tree's `dirs`) through a part that is no
 * directory of the tree (the kernel's ENOENT or ENOTDIR). Every step is bounded: at most
 * {@link MAX_LINK_HOPS} targets of at most {@link MAX_LINK_TARGET} bytes, and a path never
 * deeper than the tree (with `dirs`).
 */
export function resolveLink(from: string, target: string, links: ReadonlyMap<string, string> = new Map(), dirs?: ReadonlySet<string>): string | null {
  const slash = from.lastIndexOf('/');
  let cur = slash < 0 ? '' : from.slice(0, slash);
  /** The segments still to walk, the next one last. */
  const todo: string[] = [];
  let hops = 0;
  const follow = (t: string): boolean => {
    if (t === '' || t.startsWith('/') || t.length > MAX_LINK_TARGET || t.includes('\0') || ++hops > MAX_LINK_HOPS) return false;
    const segs = t.split('/');
    for (let i = segs.length - 1; i >= 0; i--) todo.push(segs[i]!);
    return true;
  };
  if (!follow(target)) return null;
  while (todo.length > 0) {
    const seg = todo.pop()!;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (cur === '') return null;
      const up = cur.lastIndexOf('/');
      cur = up < 0 ? '' : cur.slice(0, up);
      continue;
    }
    const next = cur === '' ? seg : `${cur}/${seg}`;
    const link = links.get(next);
    if (link !== undefined) {
      if (!follow(link)) return null;
      continue;
    }
    // A part that is neither a directory nor a link with more to walk after it: ENOENT or ENOTDIR.
    if (dirs && !dirs.has(next) && todo.some((x) => x !== '' && x !== '.')) return null;
    cur = next;
  }
  return cur;
}

/** The index of the first of the sorted `paths` not before `key`. */
function lowerBound(paths: readonly string[], key: string): number {
  let lo = 0;
  let hi = paths.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (paths[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The symbolic links of a commit that lead (directly or through its other links) to one of its
 * directories holding files the globs would select through the link's path but not through their
 * own (say `prod -> prod-v2` with `paths: ["prod/**"]`): each is a `source-file` error at its
 * path, and the plan keeps the jobs of the files that were under it, as the plain-directory source
 * does, so that a directory of manifests replaced by such a link is not taken for deleted. A link
 * whose files are read at their own paths anyway (`current -> v2` with the default globs) hides
 * nothing and is skipped, as are links to a file, to nothing in the tree, or out of it: git
 * records only a link's text, and an error for each would flag harmless links such as `LICENSE`.
 * Reads the links' blobs only when there is a candidate; each candidate looks only at the files
 * under its directory.
 */
export async function linkedDirFiles(shape: TreeShape, readBlobs: BlobReader, onSkipped?: (links: number) => void, budget = LINK_MATCH_BUDGET): Promise<SourceFile[]> {
  if (shape.candidates.length === 0) return [];
  const blobs = await readBlobs([...new Set(shape.links.map((l) => l.oid))]);
  const links = new Map(shape.links.map((l) => [l.path, blobs.get(l.oid)?.toString('utf8') ?? '']));
  let left = budget;
  // A match costs about its path's length (the linear matcher steps through every character).
  const match = (p: string): boolean => ((left -= p.length + 1), shape.match(p));
  /** The paths below each directory, relative to it, that the globs leave out at their own path (once per directory). */
  const unread = new Map<string, string[]>();
  const unreadUnder = (under: string): string[] => {
    let out = unread.get(under);
    if (out) return out;
    out = [];
    for (let i = lowerBound(shape.paths, under); i < shape.paths.length; i++) {
      const p = shape.paths[i]!;
      if (!p.startsWith(under)) break;
      if (!match(p)) out.push(p.slice(under.length));
    }
    unread.set(under, out);
    return out;
  };
  const out: SourceFile[] = [];
  let skipped = 0;
  for (const l of shape.candidates) {
    // Past the budget, a link is skipped as before links were looked at (and the caller says so).
    if (left <= 0) {
      skipped++;
      continue;
    }
    const to = resolveLink(l.path, links.get(l.path) ?? '', links, shape.dirs);
    if (to === null || !shape.dirs.has(to)) continue;
    if (unreadUnder(to === '' ? '' : `${to}/`).some((rel) => match(`${l.path}/${rel}`))) {
      out.push({ path: l.path, oid: l.oid, content: Buffer.alloc(0), error: `${SYMLINK_DIR_REFUSED}; ${keptUnder(l.path, 'put the directory itself there')}` });
    }
  }
  if (skipped > 0) onSkipped?.(skipped);
  return out;
}

/**
 * The characters {@link linkedDirFiles} matches against the globs at most per commit, each path
 * counted with its length plus one (about a second's work at ~60 ns a character): a tree of
 * thousands of links to a large directory of long names would otherwise cost links × files.
 */
export const LINK_MATCH_BUDGET = 16_000_000;

/**
 * A git source's `files` (buildFiles of the selected entries) with the errors of
 * {@link linkedDirFiles} for its commit's full listing `all`, in one list sorted by path as the
 * sources list their files. Links past the check's budget are logged as skipped.
 */
export async function withLinkedDirs(files: SourceFile[], all: Iterable<TreeEntry>, select: EntrySelector, readBlobs: BlobReader, log: SourceLog | undefined, sourceId: string): Promise<SourceFile[]> {
  const more = await linkedDirFiles(treeShape(all, select), readBlobs, (links) => log?.warn({ sourceId, links }, 'Too many symbolic links to check for hidden manifests; the rest were skipped'));
  if (more.length === 0) return files;
  return [...files, ...more].sort((a, b) => byPath(a.path, b.path));
}

/** Which setting leaves a path out of a source's selection: `source.paths` or `source.exclude`. */
export type Unselected = 'paths' | 'exclude';

/**
 * Returns why `paths`/`exclude` leave a path out: `'paths'` when no include glob matches it,
 * `'exclude'` when an exclude glob does, null when it is selected (as {@link makeMatcher}).
 */
export function makeUnselected(paths: readonly string[] = DEFAULT_PATHS, exclude: readonly string[] = []): (p: string) => Unselected | null {
  const { inc, exc } = globs(paths, exclude);
  return (p) => (!inc(p) ? 'paths' : exc(p) ? 'exclude' : null);
}

// picomatch builds `**` from `.`, which without the `s` flag stops at a line break: a file under a
// directory named "team\nops" was skipped without a word while `*` matched such a file name, and
// `lint DIR` read both. Every source selects through here, so all now take both.
const GLOB_OPTS = { dot: false, flags: 's' };

function globs(paths: readonly string[], exclude: readonly string[]): { inc: (p: string) => boolean; exc: (p: string) => boolean } {
  const inc = compileGlobs(paths, GLOB_OPTS);
  const exc = exclude.length ? compileGlobs(exclude, GLOB_OPTS) : () => false;
  return { inc, exc };
}

/**
 * Returns why `paths`/`exclude` leave out every file that could be below directory `dir` (a
 * relative path, no trailing slash): `'paths'` when no include glob can match a path under it,
 * `'exclude'` when an exclude glob `…/**` takes all of them, null when a selected file may be
 * there. It errs towards null: an include glob it cannot follow segment by segment (a brace,
 * extglob or class holding a `/`, any bracket expression, which `[[:punct:]]` or `[+-0]` lets
 * match `/`, a brace range, a quoted span, which may hold `/`, an escape, a negation, `./`) may
 * match anything, and an exclude
 * counts only when its head is plain names and `*`/`?` wildcards (picomatch compiles an extglob
 * such as `!(production)` differently alone than before `/**`).
 */
export function makeDirUnselected(paths: readonly string[] = DEFAULT_PATHS, exclude: readonly string[] = []): (dir: string) => Unselected | null {
  const segment = memoMatcher();
  const inc = paths.map(globSegments);
  // With `dot: false`, `H/**` leaves out the dot-names below H; only when no include glob can
  // select a dot-name is every selectable file below H excluded.
  const dotSelectable = inc.some((g) => g === null || g.some((p) => !startsUndotted(p)));
  const whole = dotSelectable ? [] : exclude.flatMap((g) => {
    const head = g.endsWith('/**') ? g.slice(0, -3) : '';
    const s = picomatch.scan(g);
    return head === '' || head.endsWith('/') || !PLAIN_HEAD.test(head) || s.negated || s.prefix !== '' ? [] : [compileGlob(head, GLOB_OPTS)];
  });
  return (dir) => {
    const names = dir.split('/');
    if (!inc.some((g) => g === null || mayHold(g, names, 0, 0, segment, new Map()))) return 'paths';
    for (let i = 1; i <= names.length; i++) {
      const above = names.slice(0, i).join('/');
      if (whole.some((m) => m(above))) return 'exclude';
    }
    return null;
  };
}

/**
 * An exclude head made of names and `*`/`?` wildcards only: no class, brace, extglob or escape.
 * A `+` is literal (`lost+found/**`) unless it opens the extglob `+(…)`; `++` is refused too,
 * since picomatch compiles it alone (its fast path, no `/`) as the regex quantifier `\++`.
 */
const PLAIN_HEAD = /^(?:[^\\[\]{}()!@+|"]|\+(?![(+]))*$/;

/** The `/`-separated segments of glob `g`, or null when they cannot be matched one by one. */
function globSegments(g: string): string[] | null {
  const s = picomatch.scan(g, { parts: true });
  const parts = s.parts ?? [];
  if (s.negated || s.prefix !== '' || parts.length === 0) return null;
  const odd = (p: string): boolean => p === '' || p === '.' || p.includes('..') || p.includes('/') || p.includes('\\') || p.includes('[') || p.includes('"') || p.startsWith('!') || (p.includes('**') && p !== '**');
  if (parts.some(odd)) return null;
  return parts.filter((p, i) => !(p === '**' && parts[i - 1] === '**'));
}

/**
 * Whether segments `g[pi..]` can match a file below the directory `names[di..]`. Each (di, pi)
 * is decided once (`seen`): without it, k `**` against a deep path cost depth^k.
 */
function mayHold(g: readonly string[], names: readonly string[], di: number, pi: number, segment: (p: string) => (s: string) => boolean, seen: Map<number, boolean>): boolean {
  if (pi === g.length) return false;
  if (di === names.length) return true;
  const key = di * (g.length + 1) + pi;
  const known = seen.get(key);
  if (known !== undefined) return known;
  const p = g[pi]!;
  const name = names[di]!;
  // `**` matches no segment, or this one and on; without `dot` never a dot-name.
  const holds = p === '**'
    ? mayHold(g, names, di, pi + 1, segment, seen) || (!name.startsWith('.') && mayHold(g, names, di + 1, pi, segment, seen))
    : segment(p)(name) && mayHold(g, names, di + 1, pi + 1, segment, seen);
  seen.set(key, holds);
  return holds;
}

/** Whether glob segment `p` cannot match a dot-name: `**`, or a literal, `*` or `?` first. */
function startsUndotted(p: string): boolean {
  return p === '**' || /^(?:[\w-]|[*?](?!\())/.test(p);
}

function memoMatcher(): (p: string) => (s: string) => boolean {
  const cache = new Map<string, (s: string) => boolean>();
  return (p) => {
    let m = cache.get(p);
    if (!m) cache.set(p, (m = compileGlob(p, GLOB_OPTS)));
    return m;
  };
}

/** Shows a source URL without credentials (scp-like `git@host:path` is kept, `git` is no secret). */
export function displayUrl(url: string): string {
  return stripUrlCredentials(url);
}

/** Returns the stable id of a source: a hash of its URL without credentials, ref, paths and exclude. */
export function sourceIdOf(config: Pick<SourceConfig, 'url' | 'ref' | 'paths' | 'exclude'>): string {
  const key = JSON.stringify([displayUrl(config.url), config.ref ?? null, [...(config.paths ?? DEFAULT_PATHS)], [...(config.exclude ?? [])]]);
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * The git blob id of `data` (pack.ts's `hashObject('blob', data)`), for plain directories,
 * which need no pack code (nor zlib) to key their files the way git does.
 */
export function blobOid(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/** Reads blobs by id (batched where the backend allows). */
export type BlobReader = (oids: readonly string[]) => Promise<Map<string, Buffer>>;

/**
 * Builds the SourceFiles of `entries` (already filtered by the globs). Content whose oid equals
 * a file of `previous` is taken over without reading; the rest is read with `readBlobs`.
 * Symlinks, submodules and files over 1 MiB become per-file errors.
 * @throws {TreeError} when `readBlobs` does not return a blob it was asked for.
 */
export async function buildFiles(entries: readonly TreeEntry[], readBlobs: BlobReader, previous?: readonly SourceFile[]): Promise<{ files: SourceFile[]; read: number }> {
  const known = new Map<string, Buffer>();
  for (const f of previous ?? []) if (!f.error) known.set(f.oid, f.content);
  const files: SourceFile[] = [];
  const need: string[] = [];
  for (const e of entries) {
    const error = modeError(e.mode, e.path) ?? (e.size !== undefined && e.size > MAX_FILE_BYTES ? sizeError(e.size) : undefined);
    if (error) files.push({ path: e.path, oid: e.oid, content: Buffer.alloc(0), error });
    else {
      files.push({ path: e.path, oid: e.oid, content: known.get(e.oid) ?? Buffer.alloc(0) });
      if (!known.has(e.oid)) need.push(e.oid);
    }
  }
  const blobs = need.length ? await readBlobs([...new Set(need)]) : new Map<string, Buffer>();
  for (const f of files) {
    const b = blobs.get(f.oid);
    if (!b) {
      // Read as empty, the file's jobs would look deleted at a commit that never deleted them.
      if (!f.error && !known.has(f.oid)) throw new TreeError(`blob ${f.oid} of ${f.path} is missing`);
      continue;
    }
    if (b.length > MAX_FILE_BYTES) files[files.indexOf(f)] = { path: f.path, oid: f.oid, content: Buffer.alloc(0), error: sizeError(b.length) };
    else f.content = b;
  }
  return { files, read: need.length };
}

function modeError(mode: string, path: string): string | undefined {
  if (mode === '120000') return SYMLINK_REFUSED;
  if (mode === SUBMODULE_MODE) return `submodule not supported: its files are not read, and the jobs of the files that were under it keep their last applied version (leave it out with source.exclude "${path}/**")`;
  if (mode !== '100644' && mode !== '100755' && mode !== '100664') return `unsupported file mode ${mode}`;
  return undefined;
}

function sizeError(size: number): string {
  return `file is ${size} bytes, over the 1 MiB limit`;
}

/** The change set from `before` (path → oid; null = first read) to `after`. */
export function diffFiles(before: ReadonlyMap<string, string> | null, after: readonly SourceFile[]): ChangeSet {
  const changes: ChangeSet = { added: [], modified: [], deleted: [] };
  const seen = new Set<string>();
  for (const f of after) {
    seen.add(f.path);
    const old = before?.get(f.path);
    if (old === undefined) changes.added.push(f.path);
    else if (old !== f.oid) changes.modified.push(f.path);
  }
  for (const p of before?.keys() ?? []) if (!seen.has(p)) changes.deleted.push(p);
  changes.deleted.sort();
  return changes;
}

/** path → oid of a snapshot's files. */
export function fileOids(files: readonly SourceFile[]): Map<string, string> {
  return new Map(files.map((f) => [f.path, f.oid]));
}

/** An empty change set. */
export function noChanges(): ChangeSet {
  return { added: [], modified: [], deleted: [] };
}

/** The snapshot returned when nothing changed since `previous`. */
export function unchangedSnapshot(previous: Snapshot, fetchedAt: string): Snapshot {
  return { ...previous, fetchedAt, changes: noChanges(), unchanged: true };
}

/**
 * Manifest set loading: many files → valid Jobs and every issue, with the cross-file rule
 * (name unique within a tenant). Pure: the caller reads the files. Per-file results can be
 * cached by content id, so an unchanged file is never parsed twice.
 */
import { sameStrings } from '../memo.js';
import { shareStrings } from './intern.js';
import type { StringTable } from './intern.js';
import { parseManifestFile, releaseYaml } from './parse.js';
import { releaseJobValidator } from './schema.js';
import { byPosition, validateDocument } from './validate.js';
import type { RuleContext } from './rules.js';
import { jobNamespace } from './types.js';
import type { Issue, Job } from './types.js';

/** A file to load: its path (as shown to users), its bytes, and optionally a content id. */
export interface ManifestInput {
  path: string;
  content: Uint8Array | string;
  /** Content id (a git blob id or a hash); with a cache, equal ids skip parsing. */
  oid?: string;
  /** Why the source could not read the file (too large, a symlink); reported with rule `source-file`. */
  error?: string;
  /**
   * The path relative to the source (repository) root, when `path` is not: `lint DIR` shows paths
   * relative to the working directory. The namespace is taken from it. Default: `path`.
   */
  rootPath?: string;
}

/**
 * A valid job and where it was defined (line:col of its metadata.name), with its namespace:
 * the first directory of its path relative to the source root (`jobNamespace`).
 */
export interface LoadedJob { job: Job; file: string; index: number; line: number; col: number; namespace: string }

/** What one file produced: counts, and the ids named by its documents, valid or not. */
export interface FileOutcome {
  path: string;
  valid: number;
  invalid: number;
  /**
   * True when a document of the file is invalid: which jobs the file meant to define, or stop
   * defining, cannot be trusted, so the jobs last applied from it stay installed (SPEC §4).
   */
  unreadable: boolean;
  names: { tenant?: string; name?: string; index: number }[];
  /**
   * Of an unreadable file: the job names its text mentions (`name: x` lines, found without
   * parsing). A file renamed with a syntax error still defines the job it names: that job is
   * kept, not removed as deleted.
   */
  mentions?: string[];
}

/** The cacheable result of one file. */
export interface FileResult { jobs: LoadedJob[]; issues: Issue[]; outcome: FileOutcome }

/** Result of loading a set of manifest files. */
export interface LoadResult {
  jobs: LoadedJob[];
  /** Errors and warnings of every file, sorted by file and position. */
  issues: Issue[];
  files: Map<string, FileOutcome>;
  /** `tenant/name` of every document that names a job but is invalid (incl. duplicates). */
  invalidIds: Set<string>;
  /** Files with an invalid document (see FileOutcome.unreadable). */
  brokenFiles: Set<string>;
  /** Job names the text of those files mentions (FileOutcome.mentions). */
  brokenNames: Set<string>;
  /** How many files were parsed (not taken from the cache). */
  parsed: number;
}

/** Cache of per-file results keyed by path and content id. */
export type LoadCache = Map<string, FileResult>;

/**
 * The last result built from each cache, with the file keys it was built from in order: a load
 * of exactly those files again (a re-sync of an unchanged commit) returns it instead of
 * assembling the same 10,000 jobs anew.
 */
const lastResults = new WeakMap<LoadCache, { keys: string[]; result: LoadResult }>();

/**
 * Loads and validates every file; documents with errors are left out of `jobs`. Never throws.
 * The result is shared with later loads of the same files through the same cache: read it, do
 * not change it.
 */
export function loadManifests(inputs: readonly ManifestInput[], ctx: RuleContext = {}, cache?: LoadCache): LoadResult {
  const results: FileResult[] = [];
  const next: LoadCache = new Map();
  const keys: string[] = [];
  let parsed = 0;
  // One table for the files parsed by this load; dropped with it.
  const strings: StringTable = new Map();
  for (const input of inputs) {
    const key = input.oid === undefined || input.error ? undefined : `${input.path}\0${input.rootPath ?? ''}\0${input.oid}`;
    let res = key === undefined ? undefined : cache?.get(key);
    if (!res) {
      res = loadFile(input, ctx, strings);
      parsed++;
    }
    if (key !== undefined) next.set(key, res);
    keys.push(key ?? '');
    results.push(res);
  }
  const last = cache ? lastResults.get(cache) : undefined;
  if (cache && parsed === 0 && last && sameStrings(last.keys, keys)) return { ...last.result, parsed: 0 };
  // Files change rarely; the daemon should not keep the parser's and validator's code in between.
  releaseJobValidator();
  releaseYaml();
  if (cache) {
    cache.clear();
    for (const [k, v] of next) cache.set(k, v);
  }

  const jobs = results.flatMap((r) => r.jobs);
  const issues = results.flatMap((r) => r.issues);
  const files = new Map(results.map((r) => [r.outcome.path, r.outcome]));
  const invalidIds = new Set<string>();
  const brokenFiles = new Set<string>();
  const brokenNames = new Set<string>();
  for (const r of results) {
    if (r.outcome.unreadable) brokenFiles.add(r.outcome.path);
    for (const n of r.outcome.mentions ?? []) brokenNames.add(n);
    for (const n of r.outcome.names) if (n.tenant && n.name && !r.jobs.some((j) => j.index === n.index)) invalidIds.add(`${n.tenant}/${n.name}`);
  }
  const unique = dropDuplicateNames(jobs, issues, invalidIds, brokenFiles);
  issues.sort(byPosition);
  const result: LoadResult = { jobs: unique, issues, files, invalidIds, brokenFiles, brokenNames, parsed };
  // Only a load whose every file has a content id can be recognised again.
  if (cache && !keys.includes('')) lastResults.set(cache, { keys, result });
  else if (cache) lastResults.delete(cache);
  return result;
}

/**
 * Parses and validates one file. With `strings`, the documents' strings are replaced by equal
 * ones of that table (see ./intern.ts), shared with the other files loaded with it.
 */
export function loadFile(input: ManifestInput, ctx: RuleContext = {}, strings?: StringTable): FileResult {
  const outcome: FileOutcome = { path: input.path, valid: 0, invalid: 0, unreadable: false, names: [] };
  if (input.error) {
    outcome.invalid = 1;
    outcome.unreadable = true;
    return { jobs: [], outcome, issues: [{ file: input.path, line: 1, col: 1, path: '', rule: 'source-file', severity: 'error', message: input.error }] };
  }
  if (isBlank(input.content)) {
    // An empty file is a truncated write or a bad merge far more often than a deletion: its
    // jobs stay installed until the file is deleted (or they are disabled), and lint fails.
    outcome.invalid = 1;
    outcome.unreadable = true;
    return { jobs: [], outcome, issues: [{ file: input.path, line: 1, col: 1, path: '', rule: 'empty-file', severity: 'error', message: 'file is empty; a manifest file holds at least one Job (delete the file to remove its jobs)' }] };
  }
  const parsed = parseManifestFile(input.path, input.content);
  const namespace = jobNamespace(input.rootPath ?? input.path);
  const fileCtx: RuleContext = { ...ctx, namespace };
  const jobs: LoadedJob[] = [];
  const issues = [...parsed.issues];
  outcome.unreadable = parsed.failed > 0;
  outcome.invalid = parsed.failed;
  for (const doc of parsed.documents) {
    if (strings) shareStrings(doc.value, strings);
    const res = validateDocument(doc, fileCtx);
    issues.push(...res.warnings);
    if (res.ok) {
      outcome.valid++;
      outcome.names.push({ tenant: res.value.metadata.tenant, name: res.value.metadata.name, index: doc.index });
      const at = doc.locate(['metadata', 'name']);
      jobs.push({ job: res.value, file: doc.file, index: doc.index, line: at.line, col: at.col, namespace });
    } else {
      if (!doc.invalid) outcome.invalid++;
      outcome.names.push({ ...res.partial, index: doc.index });
      // A typo in a name or tenant, or a renamed job with an error, names no installed job.
      outcome.unreadable = true;
      issues.push(...res.issues);
    }
  }
  if (outcome.unreadable) outcome.mentions = mentionedNames(input.content);
  return { jobs, issues, outcome };
}

/** True when a file holds nothing but YAML whitespace (space, tab, CR, LF) after a byte order mark, read as text or bytes alike. */
function isBlank(content: string | Uint8Array): boolean {
  if (typeof content === 'string') return /^\uFEFF?[ \t\r\n]*$/.test(content);
  const bom = content[0] === 0xef && content[1] === 0xbb && content[2] === 0xbf ? 3 : 0;
  for (let i = bom; i < content.length; i++) {
    const b = content[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  }
  return true;
}

/** `x` of every `name: x` line of a manifest's text (quoted or not), without parsing it. */
export function mentionedNames(content: string | Uint8Array): string[] {
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  return [...new Set([...text.matchAll(/^[ \t-]*name[ \t]*:[ \t]*["']?([a-z0-9][a-z0-9-]*)["']?[ \t]*(?:#.*)?\r?$/gm)].map((m) => m[1]!))];
}

/**
 * Rule `name-unique`: a second job with the same tenant/name is an error at both places. Names
 * stay unique per tenant, not per namespace (SPEC §2): `tenant/name` is the job's id in
 * scheduler entries, snapshots and `cronsync exec`, and Crontopus's own agent keys its
 * scheduler entries by name alone.
 */
function dropDuplicateNames(jobs: LoadedJob[], issues: Issue[], invalidIds: Set<string>, brokenFiles: Set<string>): LoadedJob[] {
  const byId = new Map<string, LoadedJob[]>();
  for (const j of jobs) {
    const id = `${j.job.metadata.tenant}/${j.job.metadata.name}`;
    const list = byId.get(id);
    if (list) list.push(j);
    else byId.set(id, [j]);
  }
  const keep: LoadedJob[] = [];
  for (const [id, list] of byId) {
    if (list.length === 1) {
      keep.push(list[0]!);
      continue;
    }
    // Every copy is invalid: installing either one would silently depend on file order.
    invalidIds.add(id);
    for (const j of list) {
      // A file that now names another file's job (a typo in a name, a copied manifest) cannot be
      // trusted to have stopped defining the job last applied from it: that job stays (SPEC §4).
      brokenFiles.add(j.file);
      const others = list.filter((o) => o !== j).map((o) => `${o.file}:${o.line}:${o.col}`).join(', ');
      const spaces = new Set(list.map((o) => o.namespace));
      const hint = spaces.size > 1 ? `; names are unique within a tenant across namespaces (${[...spaces].sort().join(', ')})` : '';
      issues.push({ file: j.file, line: j.line, col: j.col, path: 'metadata.name', rule: 'name-unique', severity: 'error', message: `job ${id} is defined more than once (also at ${others})${hint}` });
    }
  }
  keep.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.index - b.index));
  return keep;
}

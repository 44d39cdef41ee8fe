/**
 * Manifest set loading: many files → valid Jobs and every issue, with the cross-file rule
 * (name unique within a tenant). Pure: the caller reads the files.
 */
import { parseManifestFile } from './parse.js';
import { byPosition, validateDocument } from './validate.js';
import type { RuleContext } from './rules.js';
import type { Issue, Job } from './types.js';

/** A file to load: its path (as shown to users) and its bytes. */
export interface ManifestInput { path: string; content: Uint8Array | string }

/** A valid job and where it was defined (line:col of its metadata.name). */
export interface LoadedJob { job: Job; file: string; index: number; line: number; col: number }

/** What one file produced: the documents that failed, and the ones that are valid. */
export interface FileOutcome { path: string; valid: number; invalid: number; names: { tenant?: string; name?: string; index: number }[] }

/** Result of loading a set of manifest files. */
export interface LoadResult {
  jobs: LoadedJob[];
  /** Errors and warnings of every file, sorted by file and position. */
  issues: Issue[];
  files: Map<string, FileOutcome>;
}

/** Loads and validates every file; documents with errors are left out of `jobs`. Never throws. */
export function loadManifests(inputs: readonly ManifestInput[], ctx: RuleContext = {}): LoadResult {
  const jobs: LoadedJob[] = [];
  const issues: Issue[] = [];
  const files = new Map<string, FileOutcome>();
  for (const input of inputs) {
    const parsed = parseManifestFile(input.path, input.content);
    const outcome: FileOutcome = { path: input.path, valid: 0, invalid: parsed.failed, names: [] };
    issues.push(...parsed.issues);
    for (const doc of parsed.documents) {
      const res = validateDocument(doc, ctx);
      issues.push(...res.warnings);
      if (res.ok) {
        outcome.valid++;
        outcome.names.push({ tenant: res.value.metadata.tenant, name: res.value.metadata.name, index: doc.index });
        const at = doc.locate(['metadata', 'name']);
        jobs.push({ job: res.value, file: doc.file, index: doc.index, line: at.line, col: at.col });
      } else {
        if (!doc.invalid) outcome.invalid++;
        outcome.names.push({ ...res.partial, index: doc.index });
        issues.push(...res.issues);
      }
    }
    files.set(input.path, outcome);
  }
  const unique = dropDuplicateNames(jobs, issues);
  issues.sort(byPosition);
  return { jobs: unique, issues, files };
}

/** Rule `name-unique`: a second job with the same tenant/name is an error at both places. */
function dropDuplicateNames(jobs: LoadedJob[], issues: Issue[]): LoadedJob[] {
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
    for (const j of list) {
      const others = list.filter((o) => o !== j).map((o) => `${o.file}:${o.line}:${o.col}`).join(', ');
      issues.push({ file: j.file, line: j.line, col: j.col, path: 'metadata.name', rule: 'name-unique', severity: 'error', message: `job ${id} is defined more than once (also at ${others})` });
    }
  }
  keep.sort((a, b) => a.file.localeCompare(b.file) || a.index - b.index);
  return keep;
}

/**
 * The planner (pure): desired state + what the scheduler holds + the last applied versions
 * → a Plan. Implements the removal rules of SPEC §4: nothing is removed by accident.
 */
import type { Exclusion } from '../desired/select.js';
import type { DesiredJob, DesiredState } from '../desired/types.js';
import type { Job, JobId } from '../manifest/types.js';
import type { InstalledEntry, Plan } from './types.js';

/** Label that keeps a job installed when its manifest is gone. */
export const PROTECT_LABEL = 'cronsync.io/protect';

/** Everything the planner looks at. */
export interface PlanInput {
  sourceId: string;
  /**
   * Source ids this agent applied before (from its state dir): their entries are ours too,
   * and are moved to `sourceId` or removed. Any other source id stays foreign.
   */
  previousSourceIds?: readonly string[];
  desired: DesiredState;
  /** Valid jobs of the repository that this agent must not run, with why. */
  excluded: ReadonlyMap<JobId, Exclusion>;
  /** Ids whose manifest exists but is invalid now. */
  invalid: ReadonlySet<JobId>;
  /** Paths of files that no longer parse (every job that came from them is kept). */
  brokenFiles: ReadonlySet<string>;
  /**
   * Job names the text of those files mentions: a job whose manifest is gone but whose name a
   * broken file mentions (a file renamed with a syntax error) is kept, not removed.
   */
  brokenNames?: ReadonlySet<string>;
  /** Entries read back from the scheduler. */
  installed: readonly InstalledEntry[];
  /** The last applied version of each job, from the state dir. */
  applied: ReadonlyMap<JobId, DesiredJob>;
  /** True when an installed entry is exactly what would be rendered for the job (no drift). */
  isCurrent: (entry: InstalledEntry, job: DesiredJob) => boolean;
  /**
   * Why the scheduler cannot hold the job's entry (e.g. a command over Debian cron's length
   * limit), or null when it can. Such a job is treated like an invalid manifest: its last good
   * entry stays, and nothing else in the sync is held back. Absent: every job can be rendered.
   */
  entryError?: (job: DesiredJob) => string | null;
  /**
   * Why the source's `paths`/`exclude` leave a manifest path out, or null when they select it.
   * A job gone from the desired state whose recorded path is left out was dropped by narrowing
   * the config, not deleted from the repository, and is reported so. Absent: every path counts
   * as selected.
   */
  unselected?: (path: string) => 'paths' | 'exclude' | null;
  prune: boolean;
  force: boolean;
  allowMassRemoval: boolean;
}

/** Why a job is removed, kept or left alone; one line each for the report. */
export interface PlanNote {
  id: JobId | null;
  kind: 'removed' | 'kept-invalid' | 'orphaned' | 'conflict' | 'no-snapshot' | 'duplicate' | 'entry-invalid';
  message: string;
  /** Manifest path the note is about, when it is about one job's manifest. */
  path?: string;
}

/** A desired job whose entry the scheduler cannot hold (see {@link PlanInput.entryError}). */
export interface RejectedJob {
  /** The version to report: the last applied one when its entry stays installed, else the desired one. */
  job: DesiredJob;
  /** True when an entry of the job stays installed (its last good version). */
  installed: boolean;
}

/** A plan plus the facts the summary reports. */
export interface PlanResult {
  plan: Plan;
  notes: PlanNote[];
  /** Set when the sync would remove more than half of the installed jobs without --force. */
  guard: { removing: number; installed: number } | null;
  /** Desired jobs left out because the scheduler cannot hold their entry, sorted by id. */
  rejected: RejectedJob[];
}

/** Computes the plan. Deterministic: every list is sorted by job id. */
export function planChanges(input: PlanInput): PlanResult {
  const notes: PlanNote[] = [];
  const owned = [input.sourceId, ...[...new Set(input.previousSourceIds ?? [])].filter((id) => id !== input.sourceId).sort()];
  const plan: Plan = { sourceId: input.sourceId, ownedSourceIds: owned, final: [], add: [], update: [], remove: [], unchanged: [], kept: [], orphaned: [], conflicts: [], preserve: [] };
  const ownedSet = new Set(owned);
  const rejected: RejectedJob[] = [];
  const entryError = input.entryError ?? (() => null);
  const ours = new Map<JobId, InstalledEntry>();
  const foreignIds = new Map<JobId, InstalledEntry>();
  for (const e of input.installed) {
    if (!e.marker) continue;
    const first = ours.get(e.marker.jobId);
    if (!ownedSet.has(e.marker.sourceId)) {
      foreignIds.set(e.marker.jobId, e);
    } else if (first) {
      // A second entry for one job (an interrupted apply, or one left under a previous source
      // id): remove it and plan the other, preferring the one under the current id.
      const keepNew = e.marker.sourceId === input.sourceId && first.marker?.sourceId !== input.sourceId;
      if (keepNew) ours.set(e.marker.jobId, e);
      plan.remove.push(keepNew ? first : e);
      notes.push({ id: e.marker.jobId, kind: 'duplicate', message: `duplicate entry for ${e.marker.jobId} removed` });
    } else {
      ours.set(e.marker.jobId, e);
    }
  }

  for (const d of sorted(input.desired.values())) {
    const other = foreignIds.get(d.id);
    if (other && !input.force) {
      plan.conflicts.push(other);
      notes.push({ id: d.id, kind: 'conflict', message: `${d.id} is already installed by another source (${other.marker?.sourceId ?? 'unknown'}); left alone (use --force to install it anyway)` });
      // Our own entry of the job, if the other source installed its copy later, stays as it
      // was: a conflict never removes anything, and removals only happen through plan.remove.
      const mine = ours.get(d.id);
      if (mine) keepAsInstalled(d.id, mine);
      continue;
    }
    const entry = ours.get(d.id);
    const error = entryError(d);
    if (error !== null) {
      rejected.push(keepRejected(d, entry, error));
      continue;
    }
    if (!entry) {
      plan.add.push(d);
      continue;
    }
    const moved = entry.marker?.sourceId !== input.sourceId;
    if (entry.marker?.manifestHash !== d.manifestHash) {
      const changes = jobChanges(input.applied.get(d.id)?.job, d.job);
      plan.update.push({ desired: d, installed: entry, changes: moved ? [...changes, 'source'] : changes });
    } else if (moved) {
      // Installed under a previous source id of this agent: rewritten under the current one.
      plan.update.push({ desired: d, installed: entry, changes: ['source'] });
    } else if (!input.isCurrent(entry, d)) {
      // A commit that did not touch this job changes only the commit of its provenance: keep
      // the commit it was applied from, so neither its entry nor its snapshot is rewritten
      // (and it is not reported as drift).
      const m = entry.marker;
      const asApplied = m && m.commit !== d.provenance.commit && m.path === d.provenance.path && m.index === d.provenance.index
        ? { ...d, provenance: { ...d.provenance, commit: m.commit } }
        : null;
      // A manifest moved to another file (or place in its file) changes only the path its entry
      // records: not a hand edit, so not reported as drift.
      const relocated = m && !entry.drifted && (m.path !== d.provenance.path || m.index !== d.provenance.index);
      if (asApplied && input.isCurrent(entry, asApplied)) {
        plan.unchanged.push(asApplied);
        continue;
      }
      // An entry that differs only in the provenance its marker records is no hand edit either:
      // a marker an earlier version wrote (without URL, ref and applied time), or one whose URL,
      // ref, commit or time changed (a renamed default branch, a state dir restored from backup).
      const provenance = m && !entry.drifted && !relocated
        && (m.url === undefined || input.isCurrent(entry, { ...d, provenance: { ...d.provenance, url: m.url, ref: m.ref ?? d.provenance.ref, commit: m.commit }, ...(m.appliedAt === undefined ? {} : { appliedAt: m.appliedAt }) }));
      plan.update.push({ desired: d, installed: entry, changes: [relocated ? 'path' : provenance ? 'provenance' : 'drift'] });
    } else {
      plan.unchanged.push(d);
    }
  }

  /** Keeps an entry of ours exactly as applied: its last applied version, else the entry as it is. */
  function keepAsInstalled(id: JobId, entry: InstalledEntry): void {
    const last = input.applied.get(id);
    if (last && last.manifestHash === entry.marker?.manifestHash && entryError(last) === null) plan.kept.push(last);
    else plan.preserve.push(entry);
  }

  /** Keeps what is installed of a job whose new entry cannot be written: the last good version. */
  function keepRejected(d: DesiredJob, entry: InstalledEntry | undefined, error: string): RejectedJob {
    const last = input.applied.get(d.id);
    const note = (message: string): void => void notes.push({ id: d.id, kind: 'entry-invalid', path: d.provenance.path, message: `${d.id}: ${error}; ${message}` });
    if (!entry) {
      note('not installed');
      return { job: d, installed: false };
    }
    note(`the last applied version (commit ${short(entry.marker?.commit)}) stays installed`);
    if (last && entryError(last) === null) {
      plan.kept.push(last);
      return { job: last, installed: true };
    }
    // The last version cannot be re-rendered either (the install path or state dir grew) or is
    // unknown: its entry is copied through as it is.
    plan.preserve.push(entry);
    return { job: last ?? d, installed: true };
  }

  let removable = 0;
  for (const [id, entry] of [...ours].sort((x, y) => cmp(x[0], y[0]))) {
    if (input.desired.has(id)) continue;
    const last = input.applied.get(id);
    const keep = (kind: 'kept-invalid' | 'orphaned', message: string): void => {
      // The file the installed version came from: where the status file's problem points.
      const path = entry.marker?.path ?? last?.provenance.path;
      notes.push({ id, kind, message, ...(path === undefined ? {} : { path }) });
      if (last && entryError(last) === null) {
        (kind === 'kept-invalid' ? plan.kept : plan.orphaned).push(last);
      } else {
        plan.preserve.push(entry);
        if (!last) notes.push({ id, kind: 'no-snapshot', message: `${id} has no snapshot in the state dir; its entry is preserved as it is` });
      }
    };
    const reason = input.excluded.get(id);
    // A file with an invalid document keeps the jobs last applied from it, unless the job's own
    // manifest, valid, says where it went (enabled: false, another tenant or selector).
    const under = reason || input.brokenFiles.has(entry.marker?.path ?? '') ? undefined : brokenParent(input.brokenFiles, entry.marker?.path);
    // A file the config no longer selects is removed as such, whatever is above it.
    const brokenDir = under !== undefined && (input.unselected?.(entry.marker!.path) ?? null) === null ? under : undefined;
    if (input.invalid.has(id) || (!reason && input.brokenFiles.has(entry.marker?.path ?? ''))) {
      keep('kept-invalid', `${id}: manifest is invalid; the last applied version (commit ${short(entry.marker?.commit)}) stays installed`);
    } else if (brokenDir !== undefined) {
      // An error at a directory's path (a symlink to it, not followed): its files were not read.
      keep('kept-invalid', `${id}: its manifest ${entry.marker?.path ?? ''} is under ${brokenDir}, which could not be read (see its problem); the last applied version (commit ${short(entry.marker?.commit)}) stays installed`);
    } else if (!reason && input.brokenFiles.size > 0 && input.brokenNames?.has(id.slice(id.indexOf('/') + 1))) {
      keep('kept-invalid', `${id}: its manifest is gone from ${entry.marker?.path ?? 'its file'}, but a file that could not be loaded names it (one of ${[...input.brokenFiles].sort().join(', ')}: it does not parse, or clashes on a job name); the last applied version (commit ${short(entry.marker?.commit)}) stays installed`);
    } else if (reason) {
      plan.remove.push(entry);
      removable++;
      notes.push({ id, kind: 'removed', message: `${id} removed: ${reason === 'disabled' ? 'enabled: false' : reason === 'selector' ? 'no longer selects this agent' : 'moved to another tenant'}` });
    } else {
      // Gone from the selection: deleted from the repository, or left out by a narrowed config.
      const file = entry.marker?.path ?? last?.provenance.path;
      const outside = file === undefined ? null : input.unselected?.(file) ?? null;
      const why = outside === 'paths' ? 'no longer under source.paths' : outside === 'exclude' ? 'excluded by source.exclude' : null;
      const gone = why === null ? `${id}: manifest is gone` : `${id}: its manifest ${file} is ${why}`;
      if (last?.job.metadata.labels[PROTECT_LABEL] === 'true') {
        keep('orphaned', `${gone}${why === null ? '' : ','} but the job is protected (${PROTECT_LABEL}); left installed`);
      } else if (!input.prune) {
        keep('orphaned', `${gone}; left installed because prune is off`);
      } else {
        plan.remove.push(entry);
        removable++;
        notes.push({ id, kind: 'removed', message: `${id} removed: ${why ?? 'manifest deleted'}` });
      }
    }
  }

  plan.final = sorted([...plan.add, ...plan.update.map((u) => u.desired), ...plan.unchanged, ...plan.kept, ...plan.orphaned]);
  const guardTripped = removable * 2 > ours.size && removable > 0 && !input.force && !input.allowMassRemoval;
  return { plan, notes, guard: guardTripped ? { removing: removable, installed: ours.size } : null, rejected };
}

/** The source ids whose entries a plan owns (see {@link Plan.ownedSourceIds}). */
export function ownedSourceIds(plan: Pick<Plan, 'sourceId' | 'ownedSourceIds'>): ReadonlySet<string> {
  return new Set([plan.sourceId, ...(plan.ownedSourceIds ?? [])]);
}

/** Names the parts of a job that differ between two versions (env by name only). */
export function jobChanges(before: Job | undefined, after: Job): string[] {
  if (!before) return ['manifest'];
  const out: string[] = [];
  const specKeys = new Set([...Object.keys(before.spec), ...Object.keys(after.spec)]) as Set<keyof Job['spec']>;
  for (const k of [...specKeys].sort()) {
    if (JSON.stringify(before.spec[k]) !== JSON.stringify(after.spec[k])) out.push(k);
  }
  if (JSON.stringify(before.metadata.labels) !== JSON.stringify(after.metadata.labels)) out.push('labels');
  if (JSON.stringify(before.metadata.annotations) !== JSON.stringify(after.metadata.annotations)) out.push('annotations');
  return out.length > 0 ? out : ['provenance'];
}

function sorted(jobs: Iterable<DesiredJob>): DesiredJob[] {
  return [...jobs].sort((a, b) => cmp(a.id, b.id));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The path of `broken` (paths of source entries that could not be read) that is a directory above
 * file `path`, or undefined.
 */
function brokenParent(broken: ReadonlySet<string>, path: string | undefined): string | undefined {
  if (path === undefined || broken.size === 0) return undefined;
  for (let at = path.lastIndexOf('/'); at > 0; at = path.lastIndexOf('/', at - 1)) {
    if (broken.has(path.slice(0, at))) return path.slice(0, at);
  }
  return undefined;
}

function short(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 12) : 'unknown';
}

import type { DesiredJob } from '../desired/types.js';
import type { JobId } from '../manifest/types.js';

/** Marker is the provenance record stored inside a scheduler entry (SPEC §4). */
export interface Marker {
  sourceId: string;
  jobId: JobId;
  commit: string | null;
  path: string;
  index: number;
  manifestHash: string;
  /** The repository URL without credentials; absent from markers written before 2026-12. */
  url?: string;
  /** The configured ref ('' for a plain directory); absent from markers written before 2026-12. */
  ref?: string;
  /** When this version of the job was first applied (ISO 8601); absent where the entry does not record it. */
  appliedAt?: string;
}

/** InstalledEntry is one entry read back from a scheduler: ours (with a marker) or foreign. */
export interface InstalledEntry {
  /** Adapter-specific identity of the entry (a line range, a unit name, a task path). */
  key: string;
  /** Decoded marker, or null for a foreign entry. */
  marker: Marker | null;
  /** True when the entry is installed but inactive (commented out, disabled). */
  paused: boolean;
  /** True when the entry's text differs from what we would render for its marker (hand edit). */
  drifted: boolean;
  /** The raw text of the entry, for reporting. */
  raw: string;
}

/** A job whose installed entry changes. */
export interface PlanUpdate {
  desired: DesiredJob;
  installed: InstalledEntry;
  /** Human-readable list of what changed (`schedule`, `command`, `drift`, ...). */
  changes: string[];
}

/**
 * Plan is what a sync will do. `final` is the complete set of our jobs that must be installed
 * after apply, sorted by id: adapters that write a whole file render exactly this set and keep
 * every foreign byte; adapters with one object per job use add/update/remove.
 */
export interface Plan {
  sourceId: string;
  /**
   * Every source id whose entries this plan owns: `sourceId` first, then the ids this agent
   * applied before (recorded in its state dir, e.g. before `source.paths` changed). Adapters
   * rewrite entries of these ids under `sourceId` or drop them; entries of any other id are
   * never touched. Absent: `[sourceId]`.
   */
  ownedSourceIds?: string[];
  final: DesiredJob[];
  add: DesiredJob[];
  update: PlanUpdate[];
  remove: InstalledEntry[];
  unchanged: DesiredJob[];
  /** Jobs kept at their last applied version because their manifest is invalid now. */
  kept: DesiredJob[];
  /** Protected jobs whose manifest is gone: kept installed, reported. */
  orphaned: DesiredJob[];
  /** Entries that collide with ours but are not ours (foreign or another source). */
  conflicts: InstalledEntry[];
  /**
   * Our entries that must stay byte-identical because they cannot be re-rendered (kept or
   * orphaned jobs whose snapshot is missing from the state dir). Whole-file adapters copy
   * their raw text through.
   */
  preserve: InstalledEntry[];
  /**
   * The entry text of each job in `final`, `add` and `update`, exactly as the adapter's
   * renderEntry returns it, built once by the planner; apply() uses it instead of rendering
   * again. Absent (or a job missing from it): apply() renders that job itself.
   */
  rendered?: ReadonlyMap<JobId, string>;
}

import type { Job, JobId, Provenance } from '../manifest/types.js';

/** DesiredJob is one job this agent should have installed, with where it came from. */
export interface DesiredJob {
  id: JobId;
  job: Job;
  provenance: Provenance;
  /** sha256 hex of the job's canonical JSON; changes whenever anything about the job changes. */
  manifestHash: string;
  /** When this version was first applied (set on versions read back from the state dir). */
  appliedAt?: string;
}

/** DesiredState maps each job id to the job that should be installed. */
export type DesiredState = Map<JobId, DesiredJob>;

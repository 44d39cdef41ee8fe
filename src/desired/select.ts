/**
 * Selection (pure): which valid jobs this agent owns, and the desired state built from them.
 */
import { createHash } from 'node:crypto';
import type { LoadedJob } from '../manifest/load.js';
import type { Job, JobId, Provenance } from '../manifest/types.js';
import { jobId } from '../manifest/types.js';
import type { DesiredJob, DesiredState } from './types.js';

/** The identity an agent is matched by. */
export interface AgentIdentity { name: string; tenant: string; labels: Readonly<Record<string, string>> }

/** Why a valid job is not in the desired state. */
export type Exclusion = 'other-tenant' | 'selector' | 'disabled';

/** Result of selection: the desired state and the valid jobs left out, with why. */
export interface Selection {
  desired: DesiredState;
  excluded: Map<JobId, Exclusion>;
}

/** True when every key of the selector matches: `hostname` the agent name, others its labels. */
export function selectorMatches(selector: Readonly<Record<string, string>>, agent: AgentIdentity): boolean {
  return Object.entries(selector).every(([k, v]) => (k === 'hostname' ? agent.name === v : agent.labels[k] === v));
}

/** Source facts every provenance record of one snapshot shares. */
export interface SnapshotOrigin { sourceId: string; url: string; ref: string; commit: string | null }

/** Builds the desired state: this tenant's enabled jobs whose selector matches. */
export function selectJobs(jobs: readonly LoadedJob[], agent: AgentIdentity, origin: SnapshotOrigin): Selection {
  const desired: DesiredState = new Map();
  const excluded = new Map<JobId, Exclusion>();
  for (const lj of jobs) {
    const id = jobId(lj.job);
    if (lj.job.metadata.tenant !== agent.tenant) {
      excluded.set(id, 'other-tenant');
    } else if (!selectorMatches(lj.job.spec.agent.selector, agent)) {
      excluded.set(id, 'selector');
    } else if (!lj.job.spec.enabled) {
      excluded.set(id, 'disabled');
    } else {
      desired.set(id, desiredJob(lj, origin));
    }
  }
  return { desired, excluded };
}

export { runAsProblem } from './run-as.js';
export type { AccountLookup } from './run-as.js';

/**
 * The desired-state record of one loaded job. Its namespace goes into the provenance, which the
 * job snapshot carries (`provenance.namespace`), so `cronsync exec` can name it in check-ins.
 */
export function desiredJob(lj: LoadedJob, origin: SnapshotOrigin): DesiredJob {
  const provenance: Provenance = { ...origin, path: lj.file, index: lj.index, namespace: lj.namespace };
  return { id: jobId(lj.job), job: lj.job, provenance, manifestHash: manifestHash(lj.job) };
}

/** Validated jobs are never mutated, and unchanged files yield the same Job objects on a re-sync. */
const hashes = new WeakMap<Job, string>();

/** sha256 (hex) of a job's canonical JSON: keys sorted, defaults applied. */
export function manifestHash(job: Job): string {
  let hash = hashes.get(job);
  if (hash === undefined) {
    hash = createHash('sha256').update(canonicalJson(job)).digest('hex');
    hashes.set(job, hash);
  }
  return hash;
}

/**
 * JSON with object keys sorted at every level, so equal data always hashes the same. Built by
 * concatenation, without the intermediate arrays of entries (a sync hashes every desired job).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item = canonicalJson(value[i]) as string | undefined;
      // As Array.prototype.join: an element that has no JSON (undefined) is empty.
      out += (i > 0 ? ',' : '') + (item ?? '');
    }
    return `${out}]`;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // The default sort compares UTF-16 code units, as `a < b` does.
    const keys = Object.keys(o).sort();
    let out = '{';
    let first = true;
    for (const k of keys) {
      const v = o[k];
      if (v === undefined) continue;
      out += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
      first = false;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}

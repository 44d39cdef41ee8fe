/** The job instances reported to a Crontopus backend, from the status file's job rows. Pure. */
import type { Job } from '../manifest/types.js';
import { jobNamespace } from '../manifest/types.js';
import type { JobState, StatusJob } from '../status/types.js';

/** Status of a job instance; the backend fails (500) on any other value. */
export type InstanceStatus = 'scheduled' | 'running' | 'paused' | 'error';

/** JobInstance is one entry of `POST /api/endpoints/{id}/job-instances`. */
export interface JobInstance {
  job_name: string;
  namespace: string;
  status: InstanceStatus;
  source: 'git';
  original_command: string | null;
}

/** installed → scheduled, paused → paused, invalid → error; a conflict is not ours to run, so error too. */
const BY_STATE: Readonly<Record<JobState, InstanceStatus>> = {
  installed: 'scheduled', paused: 'paused', invalid: 'error', conflict: 'error', orphaned: 'scheduled', pending: 'scheduled',
};

/** The command a job runs, as Crontopus shows it: `command`, else its args joined; null for steps only. */
export function commandText(job: Pick<Job, 'spec'>): string | null {
  return job.spec.command ?? (job.spec.args.length > 0 ? job.spec.args.join(' ') : null);
}

/** One instance per job row, sorted by namespace and name; `commandOf` gives a job's command by id. */
export function jobInstances(rows: readonly StatusJob[], commandOf: (id: string) => string | null | undefined): JobInstance[] {
  return rows
    .map((r) => ({ job_name: r.id.slice(r.id.indexOf('/') + 1), namespace: r.namespace ?? jobNamespace(r.path), status: BY_STATE[r.state] ?? 'error', source: 'git' as const, original_command: commandOf(r.id) ?? null }))
    .sort((a, b) => (a.namespace === b.namespace ? (a.job_name < b.job_name ? -1 : a.job_name > b.job_name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1));
}

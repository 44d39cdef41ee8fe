import { manifestHash } from '../../src/desired/select.js';
import type { DesiredJob } from '../../src/desired/types.js';
import type { Job, JobId } from '../../src/manifest/types.js';
import type { InstalledEntry, Marker } from '../../src/plan/types.js';

/** A valid, normalised Job for tests; `over` patches spec and metadata fields. */
export function makeJob(name: string, over: { spec?: Partial<Job['spec']>; metadata?: Partial<Job['metadata']> } = {}): Job {
  return {
    apiVersion: 'v1', kind: 'Job',
    metadata: { name, tenant: 'acme', labels: {}, annotations: {}, ...over.metadata },
    spec: {
      schedule: '0 2 * * *', timezone: 'UTC', command: `/opt/${name}.sh`, args: [], env: {},
      checkin: { enabled: true, timeout: 3600 },
      retry: { enabled: false, attempts: 3, backoff: 'exponential', delay: '10s', maxDelay: '5m' },
      agent: { selector: {} }, enabled: true, paused: false, concurrency: 'Forbid',
      ...over.spec,
    },
  };
}

/** A DesiredJob from a Job, as selection would build it. */
export function desiredOf(job: Job, path = `jobs/${job.metadata.name}.yaml`, commit = 'a'.repeat(40), sourceId = 'src1'): DesiredJob {
  const id = `${job.metadata.tenant}/${job.metadata.name}` as JobId;
  return { id, job, provenance: { sourceId, url: 'https://git.example/r.git', ref: 'main', commit, path, index: 0 }, manifestHash: manifestHash(job) };
}

/** An installed entry carrying the marker of a DesiredJob. */
export function entryOf(d: DesiredJob, over: Partial<Marker> = {}): InstalledEntry {
  const marker: Marker = { sourceId: d.provenance.sourceId, jobId: d.id, commit: d.provenance.commit, path: d.provenance.path, index: d.provenance.index, manifestHash: d.manifestHash, url: d.provenance.url, ref: d.provenance.ref, ...over };
  return { key: `${marker.sourceId}:${d.id}`, marker, paused: d.job.spec.paused, drifted: false, raw: `entry ${d.id}` };
}

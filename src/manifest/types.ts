/**
 * Types of the Job v1 manifest after validation, with every default applied.
 * The JSON Schema in `job.v1.schema.json` is the single source of truth for the fields;
 * these types mirror it and `test/manifest/schema.test.ts` checks they agree.
 */

/** Concurrency policy of a job (SPEC §2, ext). */
export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace';

/** Retry policy of a job or a step, with defaults applied. */
export interface RetryPolicy {
  enabled: boolean;
  /** Retries after the first failure. */
  attempts: number;
  backoff: 'fixed' | 'exponential';
  /** Duration string, e.g. `10s`. */
  delay: string;
  /** Duration string, e.g. `5m`. */
  maxDelay: string;
}

/** Check-in settings of a job. */
export interface CheckinSettings {
  enabled: boolean;
  /** Usually `${VAR}`; resolved only at run time. */
  secret?: string;
  /** Expected maximum run time in seconds. */
  timeout: number;
}

/** One step of a multi-step job (seeds/000). */
export interface Step {
  name: string;
  run: string;
  timeout?: string;
  retry: RetryPolicy;
  onFailure: 'stop' | 'continue';
}

/** Job is a validated `apiVersion: v1`, `kind: Job` manifest with defaults applied. */
export interface Job {
  apiVersion: 'v1';
  kind: 'Job';
  metadata: {
    name: string;
    tenant: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    schedule: string;
    timezone: string;
    command?: string;
    args: string[];
    workingDir?: string;
    env: Record<string, string>;
    checkin: CheckinSettings;
    retry: RetryPolicy;
    agent: { selector: Record<string, string> };
    enabled: boolean;
    paused: boolean;
    timeout?: string;
    concurrency: ConcurrencyPolicy;
    steps?: Step[];
  };
}

/** JobId is `tenant/name`. */
export type JobId = `${string}/${string}`;

/** Returns the id `tenant/name` of a job. */
export function jobId(job: Pick<Job, 'metadata'>): JobId {
  return `${job.metadata.tenant}/${job.metadata.name}`;
}

/** Severity of a validation issue. */
export type Severity = 'error' | 'warning';

/** Issue is one validation finding, pointing at a file, line and column (1-based). */
export interface Issue {
  file: string;
  line: number;
  col: number;
  /** JSON pointer-like path of the field, e.g. `spec.schedule`. */
  path: string;
  rule: string;
  severity: Severity;
  message: string;
}

/** Where a document came from (SPEC §4). */
export interface Provenance {
  /** Stable id derived from url, ref and paths. */
  sourceId: string;
  /** Repository URL without credentials, or a local path. */
  url: string;
  ref: string;
  /** 40-hex commit, or null for a plain directory. */
  commit: string | null;
  /** Path relative to the source root, with `/` separators. */
  path: string;
  /** 0-based index of the document in its file. */
  index: number;
}

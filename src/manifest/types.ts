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
    /** Crontopus's job id (a UUID), kept as written; cronsync identifies jobs by `tenant/name`. */
    id?: string;
    name: string;
    /**
     * The namespace as written by Crontopus. Informational: the job's namespace is always the
     * first directory of its path ({@link jobNamespace}); lint warns when the two differ.
     */
    namespace?: string;
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
    /** Account the command runs as; absent: the agent's user. */
    user?: string;
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

/** A tenant or job name (SPEC §2, at most 63 characters): lower-case letters, digits and inner dashes. */
export const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** JobId is `tenant/name`. */
export type JobId = `${string}/${string}`;

/** Returns the id `tenant/name` of a job. */
export function jobId(job: Pick<Job, 'metadata'>): JobId {
  return `${job.metadata.tenant}/${job.metadata.name}`;
}

/** Namespace of a job whose manifest is at the root of the source. */
export const DEFAULT_NAMESPACE = 'default';

/**
 * The namespace of a job: the first directory of its manifest's path relative to the source
 * root (`production/backups/db.yaml` → `production`), or `default` for a file at the root.
 * This is how Crontopus derives it (its agent's manifest parser reads the directory and
 * ignores `metadata.namespace`), so check-ins name the namespace its backend expects.
 */
export function jobNamespace(path: string): string {
  const dirs = path.split('/').slice(0, -1).filter((d) => d !== '' && d !== '.');
  return dirs[0] ?? DEFAULT_NAMESPACE;
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
  /**
   * The job's namespace, {@link jobNamespace} of `path`. Absent from snapshots written by
   * earlier versions: derive it from `path` then.
   */
  namespace?: string;
}

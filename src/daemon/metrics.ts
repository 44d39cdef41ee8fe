/**
 * Prometheus metrics of the daemon (prom-client), on a registry of its own so tests and
 * several daemons in one process never share counters. Other modules update them through
 * the small {@link Metrics} port and never import prom-client.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The result of one sync, as in the status file. */
export type SyncResultLabel = 'ok' | 'partial' | 'error';

/** The outcome of one check-in delivery. */
/** `dropped`: a spooled check-in evicted by `checkin.spool` limits (max age, max count) or damaged past them. */
export type CheckinOutcome = 'sent' | 'failed' | 'spooled' | 'dropped';

/** Job states of the status file (SPEC §7); each is always exported, 0 when absent. */
export const JOB_STATES = ['installed', 'paused', 'invalid', 'conflict', 'orphaned', 'pending'] as const;

/** Metrics is the port other modules update. */
export interface Metrics {
  /** One sync finished. */
  syncFinished(result: SyncResultLabel, durationMs: number, finishedAt: Date): void;
  /** Jobs per state after a sync; states not given are set to 0. */
  jobsByState(counts: Readonly<Record<string, number>>): void;
  /** One source fetch attempt. */
  sourceFetch(result: 'ok' | 'error'): void;
  /** One commit refused by `source.verify`, by result (`unsigned`, `untrusted`, `invalid`, `error`). */
  sourceVerifyFailure(result: string): void;
  /** One check-in sent by this process (embedded jobs, spool flush). */
  checkin(outcome: CheckinOutcome): void;
  /** One webhook call, by provider and outcome (`accepted`, `invalid-signature`, ...). */
  webhook(provider: string, outcome: string): void;
  /** Consecutive failed syncs (backoff depth). */
  consecutiveFailures(n: number): void;
}

/** Metrics backed by a prom-client registry; `render()` produces the /metrics text. */
export interface PromMetrics extends Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  render(): Promise<string>;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also export process_* and nodejs_* metrics (RSS, CPU, event loop); default true. */
  processMetrics?: boolean;
}

/** Results of a refused verification; each is always exported, 0 when none. */
const VERIFY_FAILURES: readonly string[] = ['unsigned', 'untrusted', 'invalid', 'error'];

const PROVIDERS = new Set(['github', 'gitlab', 'gitea', 'forgejo', 'bitbucket', 'generic']);

/** Creates the daemon's metrics on a fresh registry. */
export function createMetrics(opts: MetricsOptions = {}): PromMetrics {
  const registry = new Registry();
  if (opts.processMetrics ?? true) {
    // A coarse event-loop sampler: the 10 ms default wakes an idle daemon 100 times a second.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 500 });
  }
  const registers = [registry];
  const duration = new Histogram({
    name: 'cronsync_sync_duration_seconds',
    help: 'Duration of syncs, by result',
    labelNames: ['result'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  const syncs = new Counter({ name: 'cronsync_syncs_total', help: 'Syncs, by result', labelNames: ['result'], registers });
  const lastSuccess = new Gauge({ name: 'cronsync_last_success_timestamp_seconds', help: 'Unix time of the last successful sync (0: none yet)', registers });
  const lastAttempt = new Gauge({ name: 'cronsync_last_attempt_timestamp_seconds', help: 'Unix time of the last sync attempt', registers });
  const jobs = new Gauge({ name: 'cronsync_jobs', help: 'Jobs by state', labelNames: ['state'], registers });
  const fetches = new Counter({ name: 'cronsync_source_fetches_total', help: 'Source fetches, by result', labelNames: ['result'], registers });
  const verifyFailures = new Counter({ name: 'cronsync_source_verify_failures_total', help: 'Syncs whose source commit was refused by source.verify, by result: unsigned, untrusted, invalid, error', labelNames: ['result'], registers });
  const checkins = new Counter({ name: 'cronsync_checkins_total', help: 'Check-ins by outcome: sent, failed (refused by the server, or lost), spooled, dropped (evicted from the spool by its limits)', labelNames: ['outcome'], registers });
  const webhooks = new Counter({ name: 'cronsync_webhooks_total', help: 'Webhook calls, by provider and outcome', labelNames: ['provider', 'outcome'], registers });
  const failures = new Gauge({ name: 'cronsync_consecutive_failures', help: 'Consecutive failed syncs', registers });

  lastSuccess.set(0);
  for (const s of JOB_STATES) jobs.set({ state: s }, 0);
  for (const r of ['ok', 'partial', 'error']) syncs.inc({ result: r }, 0);
  for (const r of ['ok', 'error']) fetches.inc({ result: r }, 0);
  for (const o of ['sent', 'failed', 'spooled', 'dropped']) checkins.inc({ outcome: o }, 0);
  for (const r of VERIFY_FAILURES) verifyFailures.inc({ result: r }, 0);
  failures.set(0);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    syncFinished(result, durationMs, finishedAt) {
      duration.observe({ result }, durationMs / 1000);
      syncs.inc({ result });
      lastAttempt.set(finishedAt.getTime() / 1000);
      if (result !== 'error') lastSuccess.set(finishedAt.getTime() / 1000);
    },
    jobsByState(counts) {
      for (const s of new Set<string>([...JOB_STATES, ...Object.keys(counts)])) jobs.set({ state: s }, counts[s] ?? 0);
    },
    sourceFetch: (result) => fetches.inc({ result }),
    sourceVerifyFailure: (result) => verifyFailures.inc({ result: VERIFY_FAILURES.includes(result) ? result : 'error' }),
    checkin: (outcome) => checkins.inc({ outcome }),
    // Providers come from the URL path: an unknown one is folded to keep label cardinality fixed.
    webhook: (provider, outcome) => webhooks.inc({ provider: PROVIDERS.has(provider) ? provider : 'unknown', outcome }),
    consecutiveFailures: (n) => failures.set(n),
  };
}

/** Metrics that record nothing, for commands other than the daemon. */
export const noopMetrics: Metrics = {
  syncFinished: () => undefined,
  jobsByState: () => undefined,
  sourceFetch: () => undefined,
  sourceVerifyFailure: () => undefined,
  checkin: () => undefined,
  webhook: () => undefined,
  consecutiveFailures: () => undefined,
};

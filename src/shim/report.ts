/**
 * Reporting a run: the optional `running` check-in, and the final check-in with its
 * write-ahead spool entry, so that a check-in is delivered, rejected (and counted) or spooled,
 * and never silently lost, even when the shim is killed mid-request.
 */
import type { JobSnapshot } from '../state/snapshot-read.js';
import type { StateStore } from '../state/store.js';
import { snapshotNamespace } from '../state/snapshot-read.js';
import type { Clock } from '../system/clock.js';
import type { HttpClient } from '../system/http.js';
import { readEndpointIdentity } from '../crontopus/identity.js';
import type { Checkin, CheckinPayload } from './checkin.js';
import { buildRequest, deliver } from './checkin.js';
import { selfIdentity } from './lock.js';
import { isPureReference } from './secrets.js';
import { SENDING_HERE } from './spool-entry.js';
import type { SpoolEntry } from './spool-entry.js';
import type { Logger } from './types.js';

/** Everything a check-in of one run needs. */
export interface ReportContext {
  stateDir: string;
  /** The state dir's store: the spool and its drop record. */
  state: StateStore;
  jobId: string;
  snapshot: JobSnapshot;
  /** The resolved secret; lives only in memory. */
  secret: string | undefined;
  http: HttpClient;
  clock: Clock;
  log: Logger;
  requestTimeoutMs: number;
  random?: () => number;
}

/** Outcome of the final check-in; `lost` = neither delivered nor spooled (counted as dropped). */
export type FinalOutcome = 'delivered' | 'rejected' | 'spooled' | 'lost' | 'disabled';

/** The check-in target of a job, or null when check-ins are off or no URL is configured. */
export function checkinTarget(s: JobSnapshot): { protocol: Checkin['protocol']; url: string } | null {
  const url = s.runtime.checkin.url;
  if (!s.job.spec.checkin.enabled || !url) return null;
  // The snapshot type predates crontopus-agent, which the reconciler copies from the config as is.
  return { protocol: s.runtime.checkin.protocol ?? 'crontopus', url };
}

/** Statuses that keep a crontopus-agent check-in spooled: 401 = token refused, the daemon enrolls again. */
const AGENT_DEFER = [401];

/**
 * Sends the `running` check-in; best effort within `budgetMs`, never spooled (it is stale once
 * the run ends). Never with crontopus-agent: the backend would keep it as a run of its own.
 */
export async function sendRunning(ctx: ReportContext, payload: CheckinPayload, budgetMs: number): Promise<void> {
  const target = checkinTarget(ctx.snapshot);
  if (!target || target.protocol === 'crontopus-agent') return;
  await deliver(buildRequest({ ...target, payload }, ctx.secret, ctx.requestTimeoutMs), {
    http: ctx.http, clock: ctx.clock, log: ctx.log, budgetMs, random: ctx.random, secret: ctx.secret,
    fields: { jobId: ctx.jobId, runId: payload.run_id, status: 'running' },
  });
}

/**
 * Sends the final check-in. The spool entry is written first (without fsync: it must only
 * survive the death of this process) and removed after a 2xx or a final 4xx; when the budget
 * runs out it is rewritten durably and left for the daemon or the next run.
 */
export async function sendFinal(ctx: ReportContext, payload: CheckinPayload, budgetMs: number): Promise<FinalOutcome> {
  let spooled: string | null = null;
  try {
    return await spoolAndSend(ctx, payload, budgetMs, (name) => SENDING_HERE.add((spooled = name)));
  } finally {
    if (spooled !== null) SENDING_HERE.delete(spooled);
  }
}

/** {@link sendFinal}, telling `onSpooled` the name of its entry while it is being delivered. */
async function spoolAndSend(ctx: ReportContext, payload: CheckinPayload, budgetMs: number, onSpooled: (name: string) => void): Promise<FinalOutcome> {
  const target = checkinTarget(ctx.snapshot);
  if (!target) return 'disabled';
  const agent = target.protocol === 'crontopus-agent';
  const template = agent ? undefined : ctx.snapshot.job.spec.checkin.secret;
  const entry: SpoolEntry = {
    version: 1, ...target, payload, jobId: ctx.jobId, createdAt: ctx.clock.now().toISOString(),
    ...(agent ? { namespace: snapshotNamespace(ctx.snapshot) } : {}),
    secretRef: template && isPureReference(template) ? template : null,
    secretsFile: ctx.snapshot.runtime.secretsFile,
    owner: selfIdentity(),
  };
  const fields = { jobId: ctx.jobId, runId: payload.run_id };
  // crontopus-agent: the endpoint token, read now (the daemon may have enrolled again since).
  const identity = agent ? readEndpointIdentity(ctx.stateDir, target.url) : null;
  const secret = agent ? identity?.token : ctx.secret;
  let name: string | null = null;
  try {
    // Synchronous, so the request below is on its way before the caller records the run.
    name = ctx.state.writeSpool(entry, false);
    onSpooled(name);
  } catch (err) {
    ctx.log.warn({ ...fields, err }, 'Cannot write the check-in spool; delivering without it');
  }
  const r = agent && !identity
    ? { outcome: 'failed' as const, reason: 'no Crontopus endpoint identity yet (the daemon enrolls)' }
    : await deliver(buildRequest(entry, secret, ctx.requestTimeoutMs, identity?.endpointId), {
      http: ctx.http, clock: ctx.clock, log: ctx.log, budgetMs, random: ctx.random, fields, secret, deferStatuses: agent ? AGENT_DEFER : undefined,
    });
  if (r.outcome === 'delivered' || r.outcome === 'rejected') {
    if (name) removeQuietly(ctx.state, name);
    if (r.outcome === 'rejected') {
      // Loaded only now: a rejection is rare, and every run would pay for loading it up front.
      await dropped(ctx, payload, `rejected-${r.statusCode}`);
    }
    return r.outcome;
  }
  try {
    ctx.state.writeSpool({ ...entry, owner: null }, true);
    ctx.log.warn({ ...fields, reason: r.reason }, 'Check-in spooled for later delivery');
  } catch (err) {
    if (name) {
      // The first copy is there (a full disk has no room for a second one beside it): it is
      // delivered once this process is gone, but would not survive a crash of the machine.
      ctx.log.warn({ ...fields, reason: r.reason, err }, 'Check-in spooled for later delivery, not synced to disk');
      return 'spooled';
    }
    ctx.log.error({ ...fields, err }, 'Check-in lost: cannot write the spool');
    // Counted, so that `checkins.dropped` in status.json shows it.
    await dropped(ctx, payload, 'spool-unwritable');
    return 'lost';
  }
  return 'spooled';
}

function removeQuietly(state: StateStore, name: string): void {
  try {
    state.removeSpool(name);
  } catch {
    // Already delivered by someone else, or gone.
  }
}

/** Counts a check-in as dropped in the spool's record (loaded only then; never throws). */
async function dropped(ctx: ReportContext, payload: CheckinPayload, reason: string): Promise<void> {
  await import('./spool.js').then((m) => m.recordDropped(ctx.state, [{ jobId: ctx.jobId, runId: payload.run_id }], reason, ctx.clock.now())).catch(() => undefined);
}

/**
 * summarize: the one place that turns the facts of a sync into its result, per-job states and
 * the status file (SPEC §7). Called from `finally`, so it runs after every attempt.
 */
import { userInfo } from 'node:os';
import type { DesiredJob } from '../desired/types.js';
import { readCrontopusStatus } from '../crontopus/status-file.js';
import { stripUrlCredentials } from '../errors.js';
import { jobNamespace } from '../manifest/types.js';
import { remember } from '../memo.js';
import type { Plan } from '../plan/types.js';
import type { Elsewhere } from '../scheduler/elsewhere.js';
import { firstFire } from '../schedule/fires.js';
import type { StateStore } from '../state/store.js';
import type { JobState, StatusFile, StatusJob, StatusProblem, SyncResult } from '../status/types.js';
import { stableRow } from '../status/io.js';
import { VERSION } from '../version.js';
import { Reasons } from './reasons.js';
import type { ReconcilerDeps, SyncContext } from './types.js';

/** Rule of the status problem for an unusable `secretsFile`. */
export const SECRETS_FILE_RULE = 'secrets-file';

/** Rule of the status problem for a commit refused by `source.verify`. */
export const VERIFY_RULE = 'verify';

/** Rule of the status problem for this agent's entries left in a scheduler it no longer uses. */
export const OTHER_SCHEDULER_RULE = 'other-scheduler';

/** What to tell about this agent's entries left in scheduler `f.kind` while it uses `inUse`. */
export function elsewhereMessage(f: Elsewhere, inUse: string): string {
  const ids = [...new Set(f.entries.map((e) => e.marker?.jobId ?? e.key))].sort();
  const shown = ids.length > 10 ? `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more` : ids.join(', ');
  return `${ids.length} job${ids.length === 1 ? '' : 's'} of this agent (${shown}) ${ids.length === 1 ? 'is' : 'are'} still installed in the ${f.kind} scheduler, which this agent no longer uses (it uses ${inUse}): those entries keep starting \`cronsync exec\`, also for jobs removed from Git. Remove them with \`cronsync prune --all --force --scheduler ${f.kind}\` (same --config; it keeps the job snapshots while ${f.kind} is not the scheduler in use)`;
}

/** Decides the result of a sync from its facts. */
export function syncResult(ctx: SyncContext): SyncResult {
  if (ctx.error) return 'error';
  const errors = ctx.load?.issues.some((i) => i.severity === 'error') ?? false;
  const notes = ctx.planned?.notes.some((n) => n.kind !== 'removed' && n.kind !== 'duplicate') ?? false;
  return errors || notes || ctx.secretsFileProblem !== undefined ? 'partial' : 'ok';
}

/**
 * The previous status file, read on first use and at most once: a sync that applied and knows
 * its source, selection and check-in figures never needs it (with 10,000 jobs it is ~2 MiB).
 */
export type PreviousStatus = () => Promise<StatusFile | null>;

function previousStatus(state: StateStore): PreviousStatus {
  let read: Promise<StatusFile | null> | undefined;
  return () => (read ??= state.readStatus().catch(() => null));
}

/**
 * Builds the status document of a finished attempt; `previous` fills in what a failed one lacks.
 * An attempt that did not apply its plan (a failed fetch, a refused commit, a tripped guard, a
 * scheduler error) knows nothing newer of the jobs: the previous rows stay, with the counts that
 * describe them; and while no new commit was loaded, the problems of the commit `source` still
 * names stay beside the new error.
 */
export async function buildStatus(ctx: SyncContext, deps: ReconcilerDeps, previous: PreviousStatus, finishedAt: Date): Promise<StatusFile> {
  const result = syncResult(ctx);
  const cfg = deps.config;
  const plan = ctx.planned?.plan;
  /** The plan, when this attempt applied it (or, in a dry run, would have). */
  const applied = ctx.applyResult !== undefined || ctx.dryRun ? plan : undefined;
  const snap = ctx.snapshot;
  const rowDeps: RowDeps = { runs: runReader(deps.state), next: nextRunAfter(finishedAt), user: cfg.scheduler.user ?? agentUser(), url: urlWithoutCredentials() };
  // Read only when this attempt did not apply: a sync that applied never needs the previous file.
  const carried = applied ? null : await previous();
  const unlisted = applied ? invalidWithoutRow(ctx, cfg.agent.tenant) : [];
  const jobs = applied ? await jobRows(ctx, rowDeps, unlisted) : await refreshRows(carried?.jobs ?? [], rowDeps);
  const source = await sourceBlock(ctx, deps, previous);
  const attempt = { startedAt: ctx.startedAt.toISOString(), finishedAt: finishedAt.toISOString(), result, error: ctx.error ? stripUrlCredentials(ctx.error.message) : null, reason: ctx.error ? ctx.reason ?? 'Internal' : null };
  return {
    schemaVersion: 1,
    agent: { name: cfg.agent.name, tenant: cfg.agent.tenant, labels: cfg.agent.labels, version: VERSION },
    scheduler: deps.scheduler,
    source,
    lastAttempt: attempt,
    lastSuccess: result !== 'error' ? { startedAt: attempt.startedAt, finishedAt: attempt.finishedAt, commit: snap?.commit ?? null } : (await previous())?.lastSuccess ?? null,
    counts: {
      desired: ctx.selection?.desired.size ?? carried?.counts.desired ?? 0,
      ...(applied ? appliedCounts(ctx, applied, unlisted) : carriedCounts(carried)),
    },
    jobs,
    problems: [...(carried && !ctx.load && carried.source.commit === source.commit ? commitProblems(carried.problems) : []), ...problems(ctx, deps.scheduler.kind)],
    checkins: (await deps.checkinStats?.().catch((err: unknown) => {
      // A damaged running total, a directory in place of the drop record: said, not guessed.
      deps.log.warn({ err: { message: (err as Error).message } }, 'Cannot count the spooled and dropped check-ins; the status keeps the last counts');
      return undefined;
    })) ?? (await previous())?.checkins ?? { spooled: 0, dropped: 0 },
    daemon: deps.daemonFacts?.(result) ?? null,
    ...(cfg.checkin.protocol === 'crontopus-agent' ? { crontopus: await readCrontopusStatus(cfg.stateDir) } : {}),
  };
}

/** Counts other than `desired`. */
type JobCounts = Omit<StatusFile['counts'], 'desired'>;

/** The counts of an attempt that applied its plan (or, in a dry run, would have). */
function appliedCounts(ctx: SyncContext, plan: Plan, unlisted: readonly UnlistedInvalid[]): JobCounts {
  const rejected = ctx.planned?.rejected.filter((r) => !plan.kept.includes(r.job)).length ?? 0;
  return { installed: plan.final.length, added: plan.add.length, updated: plan.update.length, removed: plan.remove.length, unchanged: plan.unchanged.length, invalid: plan.kept.length + rejected + unlisted.length, conflicts: plan.conflicts.length, orphaned: plan.orphaned.length };
}

/** The counts of an attempt that applied nothing: those of the job rows it carries over, and no change. */
function carriedCounts(carried: StatusFile | null): JobCounts {
  const c = carried?.counts;
  return { installed: c?.installed ?? 0, added: 0, updated: 0, removed: 0, unchanged: 0, invalid: c?.invalid ?? 0, conflicts: c?.conflicts ?? 0, orphaned: c?.orphaned ?? 0 };
}

/** Rule of a warning from the scheduler's apply: it describes that apply, not the commit. */
const APPLY_WARNING_RULE = 'scheduler';

/** Rules of problems that each attempt finds anew: a failure, a refused commit, the secrets file, an apply's warnings. */
const ATTEMPT_RULES: ReadonlySet<string> = new Set<string>([...Object.values(Reasons), VERIFY_RULE, SECRETS_FILE_RULE, APPLY_WARNING_RULE, OTHER_SCHEDULER_RULE]);

/** The problems of an earlier status that describe its commit and the jobs applied from it. */
function commitProblems(earlier: readonly StatusProblem[]): StatusProblem[] {
  return earlier.filter((p) => !ATTEMPT_RULES.has(p.rule));
}

/**
 * The source block: the commit fetched, or the last one when the fetch failed or `source.verify`
 * refused the commit (nothing of it was applied), with this attempt's verification, if any.
 */
async function sourceBlock(ctx: SyncContext, deps: ReconcilerDeps, previous: PreviousStatus): Promise<StatusFile['source']> {
  const cfg = deps.config;
  const snap = ctx.snapshot;
  const v = snap?.verification;
  const block: StatusFile['source'] = snap && (!v || v.result === 'valid')
    ? { id: snap.sourceId, url: stripUrlCredentials(snap.url), ref: snap.ref, commit: snap.commit, fetchedAt: snap.fetchedAt }
    : (await previous())?.source ?? { id: deps.source.id, url: stripUrlCredentials(cfg.source.url), ref: cfg.source.ref ?? '', commit: null, fetchedAt: null };
  const { verification: _earlier, ...rest } = block;
  if (cfg.source.verify?.mode !== 'head') return rest;
  return v ? { ...rest, verification: { mode: v.mode, commit: v.commit, result: v.result, signer: v.signer } } : block;
}

/** Writes the status of an attempt (never for dry runs). */
export async function summarize(ctx: SyncContext, deps: ReconcilerDeps): Promise<StatusFile> {
  const status = await buildStatus(ctx, deps, previousStatus(deps.state), deps.clock.now());
  // A sync that never got the state dir leaves its status to the sync that holds it.
  if (!ctx.dryRun && !ctx.stateDirBusy) {
    await deps.state.writeStatus(status).catch((err: Error) => deps.log.error({ err: { message: err.message } }, 'Cannot write the status file'));
  }
  return status;
}

/** What building job rows reads: last runs, next fire times and the agent's run-as user. */
interface RowDeps { runs: RunReader; next: NextRun; user: string | null; url: (url: string) => string }

/** The account the agent runs as, which runs every job without spec.user; null when unknown. */
function agentUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

async function jobRows(ctx: SyncContext, rd: RowDeps, unlisted: readonly UnlistedInvalid[]): Promise<StatusJob[]> {
  const plan = ctx.planned!.plan;
  const notes = ctx.planned!.notes;
  const why = (id: string): string | undefined => notes.find((n) => n.id === id && (n.kind === 'kept-invalid' || n.kind === 'entry-invalid'))?.message;
  const kept = new Set(plan.kept.map((d) => d.id));
  const orphaned = new Set(plan.orphaned.map((d) => d.id));
  const pending = new Set(ctx.dryRun ? [...plan.add, ...plan.update.map((u) => u.desired)].map((d) => d.id) : []);
  const conflictIds = new Set(plan.conflicts.map((e) => e.marker?.jobId));
  // A conflicting job whose own earlier entry is kept is listed once, as a conflict.
  const rows = await Promise.all(plan.final.map((d) => row(d, conflictIds.has(d.id) ? 'conflict' : kept.has(d.id) ? 'invalid' : orphaned.has(d.id) ? 'orphaned' : pending.has(d.id) ? 'pending' : d.job.spec.paused ? 'paused' : 'installed', rd, true, why(d.id))));
  const inFinal = new Set(plan.final.map((d) => d.id));
  for (const d of ctx.selection?.desired.values() ?? []) if (conflictIds.has(d.id) && !inFinal.has(d.id)) rows.push(await row(d, 'conflict', rd));
  // Jobs whose entry the scheduler cannot hold: the last good entry (if any) still fires.
  const listed = new Set(rows.map((r) => r.id));
  for (const r of ctx.planned!.rejected) {
    if (!listed.has(r.job.id)) rows.push(await row(r.job, 'invalid', rd, r.installed, why(r.job.id)));
  }
  // Invalid manifests without a last applied version still get a row, with the reason.
  for (const u of unlisted) {
    if (listed.has(u.id)) continue;
    rows.push({ id: u.id, namespace: jobNamespace(u.path), path: u.path, commit: ctx.snapshot?.commit ?? null, schedule: '', timezone: '', nextRun: null, state: 'invalid', lastRun: await rd.runs.read(u.id), reason: u.reason });
  }
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The last row built from each job version (the same DesiredJob object while its manifest and
 * selection are unchanged). A re-sync that finds the rest of the row the same (state, next run,
 * last run, user, reason) gets that row back: frozen and declared stable, it is the same
 * object, and the status file's serializer reuses the line it wrote for it (src/status/io.ts).
 */
const lastRows = new WeakMap<DesiredJob, StatusJob>();

async function row(d: DesiredJob, state: JobState, rd: RowDeps, installed = true, reason?: string): Promise<StatusJob> {
  const p = d.provenance;
  const user = d.job.spec.user ?? rd.user;
  const nextRun = !installed || state === 'conflict' || d.job.spec.paused ? null : rd.next(d.job.spec.schedule, d.job.spec.timezone);
  const lastRun = await rd.runs.read(d.id);
  const why = reason === undefined || state !== 'invalid' ? undefined : reason;
  const url = rd.url(p.url);
  const last = lastRows.get(d);
  if (last && last.state === state && last.nextRun === nextRun && last.user === user && last.reason === why && last.provenance?.url === url && sameRun(last.lastRun, lastRun)) return last;
  const out: StatusJob = stableRow(Object.freeze({
    id: d.id, namespace: p.namespace ?? jobNamespace(p.path), path: p.path, commit: p.commit, schedule: d.job.spec.schedule, timezone: d.job.spec.timezone,
    user,
    nextRun,
    state,
    lastRun: lastRun && Object.freeze(lastRun),
    ...(why === undefined ? {} : { reason: why }),
    provenance: Object.freeze({ sourceId: p.sourceId, url, ref: p.ref, commit: p.commit, path: p.path, index: p.index, manifestHash: d.manifestHash }),
  }));
  lastRows.set(d, out);
  return out;
}

function sameRun(a: StatusJob['lastRun'], b: StatusJob['lastRun']): boolean {
  if (a === null || b === null) return a === b;
  return a.startedAt === b.startedAt && a.status === b.status && a.exitCode === b.exitCode && a.durationMs === b.durationMs && a.attempts === b.attempts;
}

/** An invalid manifest of this agent's tenant that has no row: never applied, or its snapshot is gone. */
interface UnlistedInvalid { id: string; path: string; reason: string }

/**
 * The invalid manifests of `tenant` that name their job but have no last applied version, and
 * are neither desired, kept nor rejected. Their selector cannot be trusted, so the tenant decides.
 */
function invalidWithoutRow(ctx: SyncContext, tenant: string): UnlistedInvalid[] {
  const load = ctx.load;
  const planned = ctx.planned;
  if (!load || !planned || load.invalidIds.size === 0) return [];
  const listed = new Set<string>([...planned.plan.final.map((d) => d.id), ...planned.rejected.map((r) => r.job.id), ...(ctx.selection?.desired.keys() ?? [])]);
  const out: UnlistedInvalid[] = [];
  for (const [path, outcome] of load.files) {
    for (const n of outcome.names) {
      if (n.tenant !== tenant || !n.name) continue;
      const id = `${n.tenant}/${n.name}`;
      if (!load.invalidIds.has(id) || listed.has(id)) continue;
      listed.add(id);
      const errors = load.issues.filter((i) => i.file === path && i.severity === 'error');
      const issue = errors.find((i) => i.message.includes(id)) ?? errors[0];
      out.push({ id, path, reason: issue ? `${path}:${issue.line}:${issue.col}: [${issue.rule}] ${issue.message}` : `${path}: manifest is invalid` });
    }
  }
  return out;
}

async function refreshRows(rows: readonly StatusJob[], rd: RowDeps): Promise<StatusJob[]> {
  return Promise.all(rows.map(async (r) => ({ ...r, nextRun: r.nextRun === null ? null : rd.next(r.schedule, r.timezone), lastRun: await rd.runs.read(r.id) })));
}

/** stripUrlCredentials, memoised: every row of a source names the same URL. */
function urlWithoutCredentials(): (url: string) => string {
  const memo = new Map<string, string>();
  return (url) => {
    let out = memo.get(url);
    if (out === undefined) memo.set(url, (out = stripUrlCredentials(url)));
    return out;
  };
}

/** Next fire time after `now`, memoised by schedule and zone (jobs often share both). */
type NextRun = (schedule: string, zone: string) => string | null;

function nextRunAfter(now: Date): NextRun {
  const memo = new Map<string, string | null>();
  const t = now.getTime();
  return (schedule, zone) => {
    const key = `${schedule}\0${zone}`;
    let next = memo.get(key);
    if (next === undefined) {
      const known = nextFires.get(key);
      if (known && known.from <= t && t < known.next) {
        next = known.iso;
      } else {
        try {
          const at = firstFire(schedule, zone, now);
          next = at?.toISOString() ?? null;
          if (at) remember(nextFires, MAX_NEXT_FIRES, key, { from: t, next: at.getTime(), iso: next! });
        } catch {
          next = null;
        }
      }
      memo.set(key, next);
    }
    return next;
  };
}

/**
 * The first fire after `from` of each schedule and zone found by an earlier sync: it is also the
 * first fire after any time from `from` until it (nothing fires in between), so the syncs of a
 * daemon reuse it until it passes.
 */
const nextFires = new Map<string, { from: number; next: number; iso: string }>();
/** Schedule/zone pairs remembered; past it the memo starts again. */
const MAX_NEXT_FIRES = 1024;

/** Reads the last-run records of jobs for their status rows. */
export interface RunReader { read(id: string): Promise<StatusJob['lastRun']> }

/**
 * Reads last runs for many jobs: one listing of the records, then a read for each job that has
 * one, so that thousands of jobs, most never run, cost one directory read (`sync` and `status`).
 */
export function runReader(state: StateStore): RunReader {
  /** Jobs with a record, listed once for all rows (null: the listing failed, each is read). */
  let listed: Promise<Set<string> | null> | undefined;
  return {
    async read(id) {
      listed ??= state.listLastRuns().catch(() => null);
      const ids = await listed;
      if (ids && !ids.has(id)) return null;
      const r = await state.readLastRun(id).catch(() => null);
      return r ? { startedAt: r.startedAt, status: r.status, exitCode: r.exitCode, durationMs: r.durationMs, attempts: r.attempts } : null;
    },
  };
}

function problems(ctx: SyncContext, inUse: string): StatusProblem[] {
  const out: StatusProblem[] = (ctx.load?.issues ?? []).map((i) => ({ path: i.file, line: i.line, column: i.col, rule: i.rule, severity: i.severity, message: i.message }));
  for (const n of ctx.planned?.notes ?? []) {
    if (n.kind === 'removed' || n.kind === 'duplicate') continue;
    out.push({ path: n.path ?? '', line: 0, column: 0, rule: n.kind, severity: n.kind === 'entry-invalid' ? 'error' : 'warning', message: n.message });
  }
  for (const w of ctx.applyResult?.warnings ?? []) out.push({ path: '', line: 0, column: 0, rule: APPLY_WARNING_RULE, severity: 'warning', message: w });
  if (ctx.secretsFileProblem) out.push({ path: '', line: 0, column: 0, rule: SECRETS_FILE_RULE, severity: 'error', message: ctx.secretsFileProblem });
  for (const f of ctx.elsewhere ?? []) out.push({ path: '', line: 0, column: 0, rule: OTHER_SCHEDULER_RULE, severity: 'warning', message: elsewhereMessage(f, inUse) });
  const refused = ctx.snapshot?.verification;
  if (ctx.error && refused && refused.result !== 'valid') out.push({ path: '', line: 0, column: 0, rule: VERIFY_RULE, severity: 'error', message: refused.message });
  else if (ctx.error) out.push({ path: '', line: 0, column: 0, rule: ctx.reason ?? 'Internal', severity: 'error', message: stripUrlCredentials(ctx.error.message) });
  return out;
}

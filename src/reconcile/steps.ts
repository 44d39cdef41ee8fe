/**
 * The ordered steps of one reconcile (flux-style). Each records facts in the context; none
 * decides the sync result, which is `summarize`'s job.
 */
import { runAsProblem, selectJobs } from '../desired/select.js';
import type { Selection } from '../desired/select.js';
import type { DesiredJob } from '../desired/types.js';
import { RemovalGuardError, SourceError } from '../errors.js';
import { loadManifests } from '../manifest/load.js';
import type { LoadCache, LoadedJob } from '../manifest/load.js';
import type { Job, JobId, Provenance } from '../manifest/types.js';
import { planChanges } from '../plan/plan.js';
import type { InstalledEntry, Marker } from '../plan/types.js';
import { isMarkerTime } from '../scheduler/marker.js';
import { parseJobSnapshot, serializeJobSnapshot } from '../state/snapshot-read.js';
import type { JobSnapshot, SnapshotRuntime } from '../state/snapshot-read.js';
import type { StateStore } from '../state/store.js';
import { nodeRunner } from '../system/runner.js';
import { lookupAccounts, windowsRunAsMessage } from '../system/users.js';
import { verifyCommit } from '../source/verify.js';
import { makeUnselected } from '../source/select.js';
import { renderEntryOrError } from '../scheduler/entry-error.js';
import type { Elsewhere } from '../scheduler/elsewhere.js';
import { lockStateDir } from './lock.js';
import { Reasons } from './reasons.js';
import { checkSecretsFile } from './secrets-check.js';
import { previousSourceIds, recordAfterApply, recordBeforeApply, sameSources, SOURCES_FILE } from './sources.js';
import type { SourcesRecord } from './sources.js';
import type { ReconcileSnapshot, ReconcilerDeps, SyncContext } from './types.js';
import { hostOs } from '../system/platform.js';

/** What a written snapshot was built from (see ReconcilerMemory.writtenFrom). */
export interface WrittenFrom { job: Job; prov: Provenance; provKey: string; appliedAt: string; runtimeKey: string }

/** State a reconciler keeps between syncs (the daemon reuses it; one-shot syncs start empty). */
export interface ReconcilerMemory {
  snapshot?: ReconcileSnapshot;
  cache: LoadCache;
  /** Last applied version of every job, as on disk; loaded from the state dir on first use. */
  applied?: Map<JobId, DesiredJob>;
  /**
   * What each written snapshot was built from, to skip serialising unchanged jobs. Like `written`,
   * it holds the jobs that have a snapshot, and forgets a job with its snapshot.
   */
  writtenFrom?: Map<JobId, WrittenFrom>;
  /** Serialized snapshot per job as last written or read, to skip unchanged writes. */
  written: Map<JobId, string>;
  /** True once the state dir was recovered from a killed sync (temp files, the snapshot batch). */
  recovered?: boolean;
  /** False while no snapshot batch of an earlier sync can be pending (see src/state/batch.ts). */
  batchPending?: boolean;
  /** True when this sync's recovery rewrote snapshot files from the batch (kept one more sync). */
  replayed?: boolean;
  /** Identity of the secrets file (path, inode, size, times, mode, owner) as last found safe. */
  secretsKey?: string;
  /** Entry text rendered per job version in the last plan, so unchanged jobs are not re-rendered. */
  rendered?: Map<string, string>;
  /**
   * UTC day (YYYY-MM-DD) the `rendered` texts were made on. Task Scheduler and systemd entries
   * carry dated DST runs for the year ahead of their render time, so a daemon re-renders every
   * entry once a day instead of comparing with texts from months ago.
   */
  renderedOn?: string;
  /** The source ids recorded in the state dir (null: none recorded); loaded on first use. */
  sources?: SourcesRecord | null;
  /** The last selection, the loaded jobs it was made from, and its agent identity and origin. */
  selected?: { jobs: readonly LoadedJob[]; key: string; selection: Selection };
  /** The status file as this reconciler last wrote it (StateStore.statusStamp); see ./lock.ts. */
  statusStamp?: string;
  /** This agent's entries in other schedulers as last found (see elsewhereStep); undefined: not looked yet. */
  elsewhere?: Elsewhere[];
}

/** A step: reads and writes the context; throws a CronsyncError to stop the sync. */
export type Step = (ctx: SyncContext, deps: ReconcilerDeps, mem: ReconcilerMemory) => Promise<void>;

/**
 * Step 0: make sure the state dir exists, before anything writes under it (the source's clone,
 * snapshots, the status file). A path that cannot be created fails here at once with its name:
 * under some directories (`/proc/1/nope`) Node 20's recursive mkdir never returns. A dry run
 * creates it too: a Git source keeps its clone there even for `diff`.
 */
export const prepareStateDir: Step = async (ctx, deps) => {
  ctx.reason = Reasons.StateDirFailed;
  await deps.state.prepare();
  ctx.reason = undefined;
};

/** Step 1: fetch the source (cheap when nothing changed). */
export const fetchSource: Step = async (ctx, deps, mem) => {
  ctx.reason = Reasons.SourceFetchFailed;
  ctx.snapshot = await deps.source.fetch(ctx.signal, mem.snapshot);
};

/**
 * Step 1b (`source.verify.mode: head`): check the signature of the exact commit fetched, from
 * its raw object, and record the outcome on the snapshot. Anything but a good signature by a
 * trusted key stops the sync like a failed fetch: nothing is applied, the last good state stays.
 * Runs on every sync, unchanged commits included, so removing a key from the trusted files
 * takes effect at once.
 */
export const verifyStep: Step = async (ctx, deps) => {
  const cfg = deps.config.source.verify;
  if (cfg?.mode !== 'head') return;
  ctx.reason = Reasons.SourceVerifyFailed;
  const snap = ctx.snapshot!;
  const verification = await verifyCommit(snap.commit, snap.commitObject, cfg, { runner: nodeRunner, signal: ctx.signal });
  ctx.snapshot = { ...snap, verification };
  if (verification.result !== 'valid') {
    deps.log.warn({ commit: verification.commit, result: verification.result, signer: verification.signer }, 'Source commit refused by source.verify');
    throw new SourceError('other', verification.message, { commit: verification.commit, verify: verification.result, signer: verification.signer });
  }
};

/** Step 2: parse and validate the manifests, reusing cached results of unchanged files. */
export const loadStep: Step = async (ctx, deps, mem) => {
  ctx.reason = Reasons.ManifestInvalid;
  const snap = ctx.snapshot!;
  ctx.load = loadManifests(snap.files, { commandExists: deps.commandExists }, mem.cache);
};

/**
 * Step 3: keep the jobs this agent owns. The same loaded jobs (an unchanged commit: the load
 * returns the same array) with the same agent identity and origin select the same jobs, and get
 * the previous selection back.
 */
export const selectStep: Step = async (ctx, deps, mem) => {
  const snap = ctx.snapshot!;
  const origin = { sourceId: snap.sourceId, url: snap.url, ref: snap.ref, commit: snap.commit };
  const agent = deps.config.agent;
  const key = JSON.stringify([agent.name, agent.tenant, agent.labels, origin]);
  const jobs = ctx.load!.jobs;
  if (mem.selected?.jobs === jobs && mem.selected.key === key) {
    ctx.selection = mem.selected.selection;
    return;
  }
  ctx.selection = selectJobs(jobs, agent, origin);
  mem.selected = { jobs, key, selection: ctx.selection };
};

/** Step 4: read back what the scheduler holds and the last applied versions, then plan. */
export const planStep: Step = async (ctx, deps, mem) => {
  ctx.reason = Reasons.SchedulerFailed;
  ctx.installed = await deps.adapter.inventory(ctx.signal);
  ctx.reason = Reasons.StateDirFailed;
  if (!mem.recovered && !ctx.dryRun) {
    // Before the last applied versions are read: a killed sync may have left its batch.
    const replayed = await deps.state.recoverSnapshots();
    if (replayed > 0) deps.log.warn({ count: replayed }, 'Job snapshots restored from the batch of an interrupted sync');
    mem.replayed = replayed > 0;
    mem.recovered = true;
    mem.applied = undefined;
  }
  ctx.applied = mem.applied ??= await readApplied(deps.state, mem);
  if (mem.sources === undefined) {
    const read = await deps.state.readSources();
    if (read.damaged) deps.log.warn({ file: SOURCES_FILE }, 'Source id record is damaged; the source ids in the job snapshots are used instead');
    mem.sources = read.record;
  }
  const sel = ctx.selection!;
  const load = ctx.load!;
  const runAs = await runAsCheck(deps, [...sel.desired.values(), ...ctx.applied.values()]);
  const occupied = deps.adapter.occupied?.(ctx.installed) ?? (() => null);
  const day = ctx.startedAt.toISOString().slice(0, 10);
  const previous = mem.renderedOn === day ? mem.rendered ?? new Map<string, string>() : new Map<string, string>();
  const rendered = new Map<string, string>();
  const previousIds = previousSourceIds(mem.sources, deps.source.id, ctx.applied);
  const appliedAt = ctx.appliedAt = appliedTimes(ctx.applied, ctx.installed, new Set([deps.source.id, ...previousIds]), deps.clock.now().toISOString());
  /** A job's entry text, or the reason the scheduler cannot hold it. */
  const errors = new Map<string, string>();
  const render = (job: DesiredJob): string | { error: string } => {
    const at = job.appliedAt ?? appliedAt(job);
    const key = renderKey(job, at);
    const failed = errors.get(key);
    if (failed !== undefined) return { error: failed };
    let text = rendered.get(key) ?? previous.get(key);
    if (text === undefined) {
      const r = renderEntryOrError(deps.adapter, job.appliedAt === at ? job : { ...job, appliedAt: at });
      if (typeof r !== 'string') {
        errors.set(key, r.error);
        return r;
      }
      text = r;
    }
    rendered.set(key, text);
    return text;
  };
  let unselected: ((file: string) => 'paths' | 'exclude' | null) | undefined;
  ctx.planned = planChanges({
    sourceId: deps.source.id,
    previousSourceIds: previousIds,
    desired: sel.desired,
    excluded: sel.excluded,
    invalid: new Set([...load.invalidIds].filter((id) => !sel.desired.has(id as JobId))) as Set<JobId>,
    brokenFiles: load.brokenFiles,
    brokenNames: load.brokenNames,
    installed: ctx.installed,
    applied: ctx.applied,
    isCurrent: (entry, job) => !entry.drifted && entry.raw === render(job),
    entryError: (job) => {
      const user = runAs(job);
      if (user !== null) return user;
      const taken = occupied(job);
      if (taken !== null) return taken;
      const r = render(job);
      return typeof r === 'string' ? null : r.error;
    },
    // Compiled only when a job is gone from the selection (to say whether the config left it out).
    unselected: (file) => (unselected ??= makeUnselected(deps.config.source.paths, deps.config.source.exclude))(file),
    prune: deps.config.prune,
    force: ctx.force,
    allowMassRemoval: deps.config.allowMassRemoval,
  });
  // Every installed job's entry, rendered once: the adapter applies these texts (Plan.rendered),
  // and the next plan compares with them without rendering again.
  const byId = new Map<JobId, string>();
  for (const d of ctx.planned.plan.final) {
    const text = render(d);
    if (typeof text === 'string') byId.set(d.id, text);
  }
  ctx.planned.plan.rendered = byId;
  mem.rendered = rendered;
  mem.renderedOn = day;
  const moved = ctx.planned.plan.update.filter((u) => u.installed.marker?.sourceId !== deps.source.id);
  if (moved.length > 0) {
    deps.log.info({ count: moved.length, sourceId: deps.source.id, previous: [...new Set(moved.map((u) => u.installed.marker?.sourceId))] }, 'Entries installed under a previous source id of this agent are moved to the current one');
  }
  const guard = ctx.planned.guard;
  if (guard) {
    ctx.reason = Reasons.RemovalGuardTripped;
    throw new RemovalGuardError(`sync would remove ${guard.removing} of ${guard.installed} installed jobs (more than half); nothing was changed. Check the source, or run with --force (or set allowMassRemoval) if this is intended`, guard);
  }
};

/**
 * Step 5: write job snapshots (one durable batch, src/state/batch.ts), apply the plan, then
 * delete snapshots of removed jobs.
 */
export const applyStep: Step = async (ctx, deps, mem) => {
  if (ctx.dryRun) return;
  const plan = ctx.planned!.plan;
  const state = deps.state;
  const applied = ctx.applied!;
  ctx.reason = Reasons.StateDirFailed;
  const runtime = snapshotRuntime(deps);
  const runtimeKey = JSON.stringify(runtime);
  const now = deps.clock.now().toISOString();
  type From = WrittenFrom;
  const writes: { snap: JobSnapshot; text: string; from: From }[] = [];
  const sources = (mem.writtenFrom ??= new Map());
  /** What each job changed below had before: restored should the scheduler refuse the plan. */
  const before = new Map<JobId, { applied: DesiredJob | undefined; text: string | undefined; from: From | undefined }>();
  const remember = (id: JobId): void => {
    if (!before.has(id)) before.set(id, { applied: applied.get(id), text: mem.written.get(id), from: sources.get(id) });
  };
  /** Stages the snapshot of `d` as applied at `appliedAt`, unless the file already holds it. */
  const stage = (d: DesiredJob, appliedAt: string, provKey: string): void => {
    const snap: JobSnapshot = { schemaVersion: 1, job: d.job, provenance: d.provenance, manifestHash: d.manifestHash, appliedAt, runtime };
    const text = serializeJobSnapshot(snap);
    const built: From = { job: d.job, prov: d.provenance, provKey, appliedAt, runtimeKey };
    if (mem.written.get(d.id) !== text) writes.push({ snap, text, from: built });
    else sources.set(d.id, built);
  };
  for (const d of plan.final) {
    const prev = applied.get(d.id);
    // The time the plan rendered the job's entry with (appliedTimes).
    const appliedAt = ctx.appliedAt!(d);
    // An unchanged file yields the same Job object on a re-sync: skip serialising it again
    // (and its last applied version, built from the same Job, stays as it is).
    const from = sources.get(d.id);
    // The same provenance object (an unchanged selection) has the same key: not built again.
    const provKey = from?.prov === d.provenance ? from.provKey : provenanceKey(d.provenance);
    const same = from && from.job === d.job && from.provKey === provKey && from.appliedAt === appliedAt && from.runtimeKey === runtimeKey && mem.written.has(d.id);
    if (!same || prev?.job !== d.job) {
      remember(d.id);
      applied.set(d.id, { ...d, appliedAt });
    }
    if (!same) {
      remember(d.id);
      stage(d, appliedAt, provKey);
    }
  }
  // An entry copied through as it is still runs `exec` with its snapshot: that carries this
  // sync's runtime too, so that a narrowed allowedUsers or a new check-in URL reaches it.
  const finalIds = new Set(plan.final.map((d) => d.id));
  for (const e of plan.preserve) {
    const id = e.marker?.jobId as JobId | undefined;
    const last = id === undefined || finalIds.has(id) ? undefined : applied.get(id);
    if (last) {
      remember(last.id);
      stage(last, last.appliedAt ?? now, provenanceKey(last.provenance));
    }
  }
  // Every snapshot is durable (in the batch) before the scheduler entries change.
  await state.writeSnapshots(writes.map((w) => w.snap));
  for (const { snap, text, from } of writes) {
    const id = `${snap.job.metadata.tenant}/${snap.job.metadata.name}` as JobId;
    mem.written.set(id, text);
    sources.set(id, from);
  }
  // Recorded before the entries carry the new id, so that a crash cannot leave entries of an id
  // this state dir does not know.
  await recordSources(state, mem, recordBeforeApply(plan));
  ctx.reason = Reasons.SchedulerFailed;
  try {
    ctx.applyResult = await deps.adapter.apply(plan, ctx.signal);
  } catch (err) {
    // The scheduler kept its entries: so must `exec`, which checks each fire against the
    // job's snapshot. A snapshot left at the new version would skip every run of the old
    // entry (another schedule) or run the new command under it.
    await restoreSnapshots(state, mem, applied, sources, before, writes.map((w) => w.snap)).catch((restoreErr: unknown) => {
      deps.log.error({ err: { message: (restoreErr as Error).message } }, 'Cannot restore the job snapshots after the scheduler refused the plan');
    });
    throw err;
  }
  ctx.reason = Reasons.StateDirFailed;
  const refusedKeep = await settleRefused(ctx, state, mem, applied, sources, before, writes.map((w) => w.snap));
  // Files this sync wrote or restored (without fsync) keep their batch until the next sync;
  // the batch of an earlier sync has had a sync interval to reach the disk as files.
  if (writes.length > 0 || mem.replayed) mem.batchPending = true;
  else if (mem.batchPending !== false) {
    await state.settleSnapshots();
    mem.batchPending = false;
  }
  mem.replayed = false;
  // Ids with entries in another scheduler stay until elsewhereStep has looked (all of them, when it
  // has not looked yet): dropped here and added back there, the record would be written twice a sync.
  await recordSources(state, mem, recordAfterApply(plan, deps.findElsewhere ? (mem.elsewhere === undefined ? plan.ownedSourceIds ?? [] : elsewhereIds(mem.elsewhere)) : []));
  // Entries copied through unchanged still run `exec`, which needs their snapshot.
  const keep = new Set([...plan.final.map((d) => d.id), ...plan.preserve.flatMap((e) => (e.marker ? [e.marker.jobId] : [])), ...refusedKeep]);
  const forget = async (id: JobId): Promise<void> => {
    await state.deleteSnapshot(id);
    await state.deleteLastRun(id);
    applied.delete(id);
    mem.written.delete(id);
    sources.delete(id);
  };
  for (const e of plan.remove) {
    const id = e.marker?.jobId;
    if (id && !keep.has(id)) await forget(id);
  }
  // Snapshots of jobs that have no entry: written by a sync that was killed before it rewrote
  // the scheduler, or left by one killed while deleting snapshots of removed jobs.
  for (const id of [...applied.keys()]) if (!keep.has(id)) await forget(id);
  ctx.reason = undefined;
};

/**
 * Handles the jobs the scheduler refused while it applied the others (ApplyResult.failed): each
 * keeps the snapshot and last applied version its entry (if any) still runs with, and is
 * reported like a job whose entry cannot be rendered: `entry-invalid`, listed as invalid with
 * its last good version, or as not installed. A refused removal keeps the job's snapshot, so its
 * entry still runs, and the next sync removes it again. Returns the ids whose snapshot stays.
 */
async function settleRefused(
  ctx: SyncContext, state: StateStore, mem: ReconcilerMemory, applied: Map<JobId, DesiredJob>, sources: Map<JobId, WrittenFrom>,
  before: ReadonlyMap<JobId, { applied: DesiredJob | undefined; text: string | undefined; from: WrittenFrom | undefined }>,
  written: readonly JobSnapshot[],
): Promise<JobId[]> {
  const failed = ctx.applyResult?.failed ?? [];
  if (failed.length === 0) return [];
  const planned = ctx.planned!;
  const plan = planned.plan;
  const ids = new Set(failed.map((f) => f.id));
  const idOf = (snap: JobSnapshot): JobId => `${snap.job.metadata.tenant}/${snap.job.metadata.name}` as JobId;
  // The batch the restore writes holds the snapshots this sync wrote for the others too: theirs
  // were not fsynced either, and that batch replaces the one that covered them.
  await restoreSnapshots(state, mem, applied, sources, new Map([...before].filter(([id]) => ids.has(id))), written.filter((snap) => ids.has(idOf(snap))), written.filter((snap) => !ids.has(idOf(snap))));
  const keep: JobId[] = [];
  for (const { id, error } of failed) {
    const desired = plan.final.find((d) => d.id === id);
    const last = applied.get(id);
    const path = desired?.provenance.path ?? last?.provenance.path;
    if (!desired) {
      // A removal the scheduler refused: the entry is still there, and so stays its snapshot.
      keep.push(id);
      planned.notes.push({ id, kind: 'entry-invalid', path, message: `${id}: the scheduler refused to remove its entry: ${error}; it stays installed and the next sync removes it` });
      continue;
    }
    // What the applied map holds (restored above for a job this sync changed) is what is installed.
    const installed = last !== undefined;
    plan.final = plan.final.filter((d) => d.id !== id);
    if (installed) {
      plan.final.push(last);
      plan.kept.push(last);
      keep.push(id);
    } else {
      planned.rejected.push({ job: desired, installed: false });
    }
    planned.notes.push({ id, kind: 'entry-invalid', path, message: `${id}: the scheduler refused its entry: ${error}; ${installed ? 'the last applied version stays installed' : 'not installed'}` });
  }
  plan.final.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return keep;
}

/**
 * Puts back what applyStep changed before the scheduler refused the plan: each job's snapshot as
 * it was (a job that had none loses the one just written), its last applied version, and the
 * memory of what was written, so that the next sync stages the new version again. `stays` are
 * snapshots this sync wrote that stay: the new batch holds them too (their files are rewritten
 * with the same text).
 */
async function restoreSnapshots(
  state: StateStore, mem: ReconcilerMemory, applied: Map<JobId, DesiredJob>, sources: Map<JobId, WrittenFrom>,
  before: ReadonlyMap<JobId, { applied: DesiredJob | undefined; text: string | undefined; from: WrittenFrom | undefined }>,
  written: readonly JobSnapshot[], stays: readonly JobSnapshot[] = [],
): Promise<void> {
  const restore: JobSnapshot[] = [];
  for (const snap of written) {
    const id = `${snap.job.metadata.tenant}/${snap.job.metadata.name}` as JobId;
    const old = before.get(id);
    const parsed = old?.text === undefined ? undefined : parseJobSnapshot(old.text, id, id);
    if (parsed !== undefined && !(parsed instanceof Error)) restore.push(parsed);
    else await state.deleteSnapshot(id);
  }
  await state.writeSnapshots(restore.length > 0 ? [...restore, ...stays] : restore);
  for (const [id, old] of before) {
    if (old.applied) applied.set(id, old.applied);
    else applied.delete(id);
    if (old.text === undefined) mem.written.delete(id);
    else mem.written.set(id, old.text);
    if (old.from) sources.set(id, old.from);
    else sources.delete(id);
  }
}

/**
 * Step 6: look for this agent's entries in the schedulers it does not use, left there by an
 * earlier `scheduler.kind` (they keep starting `exec`). Read only, and reported. A reconciler
 * looks once, then again each sync only while it finds some, so that a daemon notices when
 * they are cleaned up without reading every scheduler every interval.
 */
export const elsewhereStep: Step = async (ctx, deps, mem) => {
  if (!deps.findElsewhere || (mem.elsewhere !== undefined && mem.elsewhere.length === 0)) return;
  const owned = new Set([deps.source.id, ...(ctx.planned?.plan.ownedSourceIds ?? [])]);
  const found = await deps.findElsewhere(owned, ctx.signal).catch((err: unknown) => {
    ctx.signal.throwIfAborted();
    deps.log.warn({ err: { message: (err as Error).message } }, 'Cannot look for entries of this agent in other schedulers');
    return undefined;
  });
  if (found === undefined) return;
  mem.elsewhere = ctx.elsewhere = found;
  // The record keeps the ids these entries carry, and only those (see recordAfterApply).
  const plan = ctx.planned?.plan;
  if (plan && !ctx.dryRun && ctx.syncLock) await recordSources(deps.state, mem, recordAfterApply(plan, elsewhereIds(found)));
  for (const f of found) {
    deps.log.warn({ kind: f.kind, inUse: deps.scheduler.kind, jobs: f.entries.map((e) => e.marker?.jobId) }, 'Entries of this agent remain in a scheduler it no longer uses');
  }
};

export { checkSecretsFile };

/** The steps of a sync, in order. `diff` is the same list run with dryRun. */
export const STEPS: readonly Step[] = [prepareStateDir, lockStateDir, checkSecretsFile, fetchSource, verifyStep, loadStep, selectStep, planStep, applyStep, elsewhereStep];

/** What identifies a provenance, to tell an unchanged one without comparing its fields each sync. */
function provenanceKey(p: Provenance): string {
  return `${p.sourceId}\0${p.url}\0${p.ref}\0${p.commit}\0${p.path}\0${p.index}`;
}

function snapshotRuntime(deps: ReconcilerDeps): SnapshotRuntime {
  const c = deps.config;
  return {
    agentId: c.agent.name,
    checkin: { url: c.checkin.url, protocol: c.checkin.protocol, start: c.checkin.start },
    ...(c.secretsFile ? { secretsFile: c.secretsFile } : {}),
    spool: { maxAgeDays: c.checkin.spool.maxAgeDays, maxCount: c.checkin.spool.maxCount },
    allowedUsers: c.scheduler.allowedUsers ?? [],
  };
}

/**
 * Why each job cannot run as its `spec.user` on this agent (not allowed, not on the host, or a
 * Windows agent), or null. The accounts of this sync's jobs are looked up once, now.
 */
async function runAsCheck(deps: ReconcilerDeps, jobs: readonly DesiredJob[]): Promise<(job: DesiredJob) => string | null> {
  const names = jobs.flatMap((d) => (d.job.spec.user === undefined ? [] : [d.job.spec.user]));
  if (names.length === 0) return () => null;
  if (hostOs === 'win32') return (d) => (d.job.spec.user === undefined ? null : windowsRunAsMessage(d.job.spec.user));
  const accounts = await lookupAccounts(names);
  const allowed = deps.config.scheduler.allowedUsers ?? [];
  return (d) => runAsProblem(d.job, allowed, (name) => accounts.get(name) ?? null);
}

/**
 * When each job's version was first applied, the time its entry's marker and its snapshot record
 * (SPEC §4): the last applied version's time when the manifest is unchanged; else, with the state
 * dir lost, the time the entry of this agent records for the same manifest; else `now`, this sync.
 */
export function appliedTimes(applied: ReadonlyMap<JobId, DesiredJob>, installed: readonly InstalledEntry[], owned: ReadonlySet<string>, now: string): (d: DesiredJob) => string {
  let marked: Map<JobId, Marker> | undefined;
  return (d) => {
    const prev = applied.get(d.id);
    // Only a time as markers hold it: any other (a hand-edited snapshot) would not read back from the entry.
    if (prev?.appliedAt !== undefined && isMarkerTime(prev.appliedAt) && prev.manifestHash === d.manifestHash) return prev.appliedAt;
    marked ??= new Map(installed.flatMap((e) => (e.marker?.appliedAt !== undefined && owned.has(e.marker.sourceId) ? [[e.marker.jobId, e.marker]] : [])));
    const m = marked.get(d.id);
    return m?.appliedAt !== undefined && m.manifestHash === d.manifestHash ? m.appliedAt : now;
  };
}

/**
 * Identifies a job version applied at `at`: its entry is a pure function of both and the
 * adapter's fixed settings. Kept per job object: a re-sync of an unchanged commit plans the same
 * objects again, and looks up the same strings (whose hashes V8 keeps) instead of new ones.
 */
function renderKey(job: DesiredJob, at: string): string {
  const known = renderKeys.get(job);
  if (known?.at === at) return known.key;
  const p = job.provenance;
  const key = `${job.id}\0${job.manifestHash}\0${p.commit ?? ''}\0${p.path}\0${p.index}\0${p.url}\0${p.ref}\0${at}`;
  renderKeys.set(job, { at, key });
  return key;
}

const renderKeys = new WeakMap<DesiredJob, { at: string; key: string }>();

/** The source ids of this agent's entries found in other schedulers. */
function elsewhereIds(found: readonly Elsewhere[]): string[] {
  return found.flatMap((f) => f.entries.flatMap((e) => (e.marker ? [e.marker.sourceId] : [])));
}

async function recordSources(state: StateStore, mem: ReconcilerMemory, record: SourcesRecord): Promise<void> {
  if (sameSources(mem.sources, record)) return;
  await state.writeSources(record);
  mem.sources = record;
}

/**
 * The last applied version of every job with a snapshot in the state dir. What the memory holds
 * of jobs without one (a sync that failed while it deleted them) is dropped with it: a text
 * remembered as written could keep the job's snapshot from being written again.
 */
async function readApplied(state: StateStore, mem: ReconcilerMemory): Promise<Map<JobId, DesiredJob>> {
  const out = new Map<JobId, DesiredJob>();
  for (const id of await state.listSnapshots()) {
    const s = await state.readSnapshot(id).catch(() => null);
    if (!s) continue;
    out.set(id, { id, job: s.job, provenance: s.provenance, manifestHash: s.manifestHash, appliedAt: s.appliedAt });
    mem.written.set(id, serializeJobSnapshot(s));
  }
  for (const id of [...mem.written.keys()]) if (!out.has(id)) mem.written.delete(id);
  for (const id of [...(mem.writtenFrom?.keys() ?? [])]) if (!out.has(id)) mem.writtenFrom!.delete(id);
  return out;
}

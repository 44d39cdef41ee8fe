/**
 * The ordered steps of one reconcile (flux-style). Each records facts in the context; none
 * decides the sync result, which is `summarize`'s job.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runAsProblem, selectJobs } from '../desired/select.js';
import type { DesiredJob } from '../desired/types.js';
import { RemovalGuardError, SourceError, isCronsyncError } from '../errors.js';
import { loadManifests } from '../manifest/load.js';
import type { LoadCache } from '../manifest/load.js';
import type { Job, JobId } from '../manifest/types.js';
import { planChanges } from '../plan/plan.js';
import { readSecretsFile } from '../shim/secrets.js';
import { deleteLastRun } from '../state/runs.js';
import { deleteJobSnapshot, listJobSnapshots, readJobSnapshot, serializeJobSnapshot, writeJobSnapshot } from '../state/snapshots.js';
import type { JobSnapshot, SnapshotRuntime } from '../state/snapshots.js';
import { removeFile, syncDirs } from '../system/files.js';
import { nodeRunner } from '../system/runner.js';
import { lookupAccounts, windowsRunAsMessage } from '../system/users.js';
import { verifyCommit } from '../source/verify.js';
import { makeDirSync } from '../system/regular-file.js';
import { renderEntryOrError } from '../scheduler/entry-error.js';
import { Reasons } from './reasons.js';
import { previousSourceIds, readSources, recordAfterApply, recordBeforeApply, sameSources, SOURCES_FILE, writeSources } from './sources.js';
import type { SourcesRecord } from './sources.js';
import type { ReconcileSnapshot, ReconcilerDeps, SyncContext } from './types.js';
import { hostOs } from '../system/platform.js';

/** State a reconciler keeps between syncs (the daemon reuses it; one-shot syncs start empty). */
export interface ReconcilerMemory {
  snapshot?: ReconcileSnapshot;
  cache: LoadCache;
  /** Last applied version of every job, as on disk; loaded from the state dir on first use. */
  applied?: Map<JobId, DesiredJob>;
  /** What each written snapshot was built from, to skip serialising unchanged jobs. */
  writtenFrom?: Map<JobId, { job: Job; provKey: string; appliedAt: string; runtimeKey: string }>;
  /** Serialized snapshot per job as last written or read, to skip unchanged writes. */
  written: Map<JobId, string>;
  /** True once temp files left in the state dir by a killed process were removed. */
  tidied?: boolean;
  /** Entry text rendered per job version in the last plan, so unchanged jobs are not re-rendered. */
  rendered?: Map<string, string>;
  /** The source ids recorded in the state dir (null: none recorded); loaded on first use. */
  sources?: SourcesRecord | null;
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
  makeDirSync(deps.config.stateDir, 0o700);
  ctx.reason = undefined;
};

/**
 * Step 0b: read `secretsFile` as `cronsync exec` will, with the same check (src/shim/secrets.ts),
 * so that an unsafe or unreadable file is reported now, not by a run at 3 a.m. exiting 77.
 * Records the problem; never stops the sync. The values read are dropped at once.
 */
export const checkSecretsFile: Step = async (ctx, deps) => {
  const file = deps.config.secretsFile;
  if (!file) return;
  try {
    readSecretsFile(file);
  } catch (err) {
    if (!isCronsyncError(err)) throw err;
    ctx.secretsFileProblem = `${err.message}; jobs that use \${VAR} from it will fail`;
  }
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

/** Step 3: keep the jobs this agent owns. */
export const selectStep: Step = async (ctx, deps) => {
  const snap = ctx.snapshot!;
  ctx.selection = selectJobs(ctx.load!.jobs, deps.config.agent, { sourceId: snap.sourceId, url: snap.url, ref: snap.ref, commit: snap.commit });
};

/** Step 4: read back what the scheduler holds and the last applied versions, then plan. */
export const planStep: Step = async (ctx, deps, mem) => {
  ctx.reason = Reasons.SchedulerFailed;
  ctx.installed = await deps.adapter.inventory(ctx.signal);
  ctx.reason = Reasons.StateDirFailed;
  ctx.applied = mem.applied ??= await readApplied(deps.config.stateDir, mem);
  if (mem.sources === undefined) {
    const read = await readSources(deps.config.stateDir);
    if (read.damaged) deps.log.warn({ file: SOURCES_FILE }, 'Source id record is damaged; the source ids in the job snapshots are used instead');
    mem.sources = read.record;
  }
  const sel = ctx.selection!;
  const load = ctx.load!;
  const runAs = await runAsCheck(deps, [...sel.desired.values(), ...ctx.applied.values()]);
  const previous = mem.rendered ?? new Map<string, string>();
  const rendered = new Map<string, string>();
  /** A job's entry text, or the reason the scheduler cannot hold it. */
  const errors = new Map<string, string>();
  const render = (job: DesiredJob): string | { error: string } => {
    const key = renderKey(job);
    const failed = errors.get(key);
    if (failed !== undefined) return { error: failed };
    let text = previous.get(key);
    if (text === undefined) {
      const r = renderEntryOrError(deps.adapter, job);
      if (typeof r !== 'string') {
        errors.set(key, r.error);
        return r;
      }
      text = r;
    }
    rendered.set(key, text);
    return text;
  };
  ctx.planned = planChanges({
    sourceId: deps.source.id,
    previousSourceIds: previousSourceIds(mem.sources, deps.source.id, ctx.applied),
    desired: sel.desired,
    excluded: sel.excluded,
    invalid: new Set([...load.invalidIds].filter((id) => !sel.desired.has(id as JobId))) as Set<JobId>,
    brokenFiles: load.brokenFiles,
    installed: ctx.installed,
    applied: ctx.applied,
    isCurrent: (entry, job) => !entry.drifted && entry.raw === render(job),
    entryError: (job) => {
      const user = runAs(job);
      if (user !== null) return user;
      const r = render(job);
      return typeof r === 'string' ? null : r.error;
    },
    prune: deps.config.prune,
    force: ctx.force,
    allowMassRemoval: deps.config.allowMassRemoval,
  });
  mem.rendered = rendered;
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

/** Step 5: write job snapshots, apply the plan, then delete snapshots of removed jobs. */
export const applyStep: Step = async (ctx, deps, mem) => {
  if (ctx.dryRun) return;
  const plan = ctx.planned!.plan;
  const stateDir = deps.config.stateDir;
  const applied = ctx.applied!;
  ctx.reason = Reasons.StateDirFailed;
  if (!mem.tidied) {
    await removeStaleSnapshotTemps(stateDir);
    mem.tidied = true;
  }
  const runtime = snapshotRuntime(deps);
  const runtimeKey = JSON.stringify(runtime);
  const now = deps.clock.now().toISOString();
  type From = { job: Job; provKey: string; appliedAt: string; runtimeKey: string };
  const writes: { snap: JobSnapshot; text: string; from: From }[] = [];
  const sources = (mem.writtenFrom ??= new Map());
  for (const d of plan.final) {
    const prev = applied.get(d.id);
    const appliedAt = prev && prev.manifestHash === d.manifestHash ? prev.appliedAt ?? now : now;
    applied.set(d.id, { ...d, appliedAt });
    // An unchanged file yields the same Job object on a re-sync: skip serialising it again.
    const from = sources.get(d.id);
    const p = d.provenance;
    const provKey = `${p.sourceId}\0${p.url}\0${p.ref}\0${p.commit}\0${p.path}\0${p.index}`;
    if (from && from.job === d.job && from.provKey === provKey && from.appliedAt === appliedAt && from.runtimeKey === runtimeKey && mem.written.has(d.id)) continue;
    const snap: JobSnapshot = { schemaVersion: 1, job: d.job, provenance: d.provenance, manifestHash: d.manifestHash, appliedAt, runtime };
    const text = serializeJobSnapshot(snap);
    const built: From = { job: d.job, provKey, appliedAt, runtimeKey };
    if (mem.written.get(d.id) !== text) writes.push({ snap, text, from: built });
    else sources.set(d.id, built);
  }
  // Each write waits on two fsyncs; overlapping them shortens a first install of thousands of
  // jobs. Every snapshot is on disk before the scheduler entries change.
  // Directories are fsynced once per tenant after all renames instead of once per file.
  const dirs = new Set<string>();
  await eachLimit(writes, SNAPSHOT_WRITERS, async ({ snap, text, from }) => {
    await writeJobSnapshot(stateDir, snap, { deferDirSync: dirs });
    const id = `${snap.job.metadata.tenant}/${snap.job.metadata.name}` as JobId;
    mem.written.set(id, text);
    sources.set(id, from);
  });
  await syncDirs(dirs);
  // Recorded before the entries carry the new id, so that a crash cannot leave entries of an id
  // this state dir does not know.
  await recordSources(stateDir, mem, recordBeforeApply(plan));
  ctx.reason = Reasons.SchedulerFailed;
  ctx.applyResult = await deps.adapter.apply(plan, ctx.signal);
  ctx.reason = Reasons.StateDirFailed;
  await recordSources(stateDir, mem, recordAfterApply(plan));
  // The entries just written, so that the next plan compares without rendering them again.
  const rendered = mem.rendered ??= new Map();
  for (const d of plan.final) {
    const key = renderKey(d);
    if (!rendered.has(key)) rendered.set(key, deps.adapter.renderEntry(d));
  }
  ctx.reason = Reasons.StateDirFailed;
  // Entries copied through unchanged still run `exec`, which needs their snapshot.
  const keep = new Set([...plan.final.map((d) => d.id), ...plan.preserve.flatMap((e) => (e.marker ? [e.marker.jobId] : []))]);
  for (const e of plan.remove) {
    const id = e.marker?.jobId;
    if (!id || keep.has(id)) continue;
    await deleteJobSnapshot(stateDir, id);
    await deleteLastRun(stateDir, id);
    applied.delete(id);
    mem.written.delete(id);
  }
  // Snapshots of jobs that have no entry: written by a sync that was killed before it rewrote
  // the scheduler, or left by one killed while deleting snapshots of removed jobs.
  for (const id of [...applied.keys()]) {
    if (keep.has(id)) continue;
    await deleteJobSnapshot(stateDir, id);
    await deleteLastRun(stateDir, id);
    applied.delete(id);
    mem.written.delete(id);
  }
  ctx.reason = undefined;
};

/** The steps of a sync, in order. `diff` is the same list run with dryRun. */
export const STEPS: readonly Step[] = [prepareStateDir, checkSecretsFile, fetchSource, verifyStep, loadStep, selectStep, planStep, applyStep];

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

/** Identifies a job version: its entry is a pure function of it and the adapter's fixed settings. */
function renderKey(job: DesiredJob): string {
  const p = job.provenance;
  return `${job.id}\0${job.manifestHash}\0${p.commit ?? ''}\0${p.path}\0${p.index}`;
}

/** Snapshot files written at the same time. */
const SNAPSHOT_WRITERS = 16;

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first error once all settled. */
async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (errors.length === 0 && next < items.length) {
      const item = items[next++]!;
      await fn(item).catch((err: unknown) => void errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

/** Temp name of an atomic snapshot write (`.<name>.json.<12 hex>.tmp`, see atomicWriteFile). */
const SNAPSHOT_TEMP = /^\.[a-z0-9][-a-z0-9]*\.json\.[0-9a-f]{12}\.tmp$/;

/** Removes snapshot temp files a killed sync left behind (as the cron.d adapter does for its file). */
async function removeStaleSnapshotTemps(stateDir: string): Promise<void> {
  const root = join(stateDir, 'jobs');
  for (const tenant of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, tenant)).catch(() => [] as string[])) {
      if (SNAPSHOT_TEMP.test(name)) await removeFile(join(root, tenant, name));
    }
  }
}

async function recordSources(stateDir: string, mem: ReconcilerMemory, record: SourcesRecord): Promise<void> {
  if (sameSources(mem.sources, record)) return;
  await writeSources(stateDir, record);
  mem.sources = record;
}

async function readApplied(stateDir: string, mem: ReconcilerMemory): Promise<Map<JobId, DesiredJob>> {
  const out = new Map<JobId, DesiredJob>();
  for (const id of await listJobSnapshots(stateDir)) {
    const s = await readJobSnapshot(stateDir, id).catch(() => null);
    if (!s) continue;
    out.set(id, { id, job: s.job, provenance: s.provenance, manifestHash: s.manifestHash, appliedAt: s.appliedAt });
    mem.written.set(id, serializeJobSnapshot(s));
  }
  return out;
}

/**
 * Check-in spool: `<stateDir>/spool/<created-ms>-<run_id>.json`, one file per run, mode 0600,
 * without the secret (re-resolved at delivery). `exec` writes its entry before the first
 * attempt (owner = its pid) and deletes it after a 2xx, so a kill -9 mid-check-in leaves the
 * entry behind; `flushSpool` delivers entries whose owner is gone, oldest first, and deletes
 * each only after a 2xx. Dropped entries (too old, over the count, rejected 4xx) are appended
 * to `<stateDir>/spool-dropped.jsonl` (rotated at 1 MiB, src/state/drop-count.ts) and counted by
 * {@link spoolStats}. crontopus-agent entries
 * are sent with the endpoint identity of that moment (src/crontopus/identity.ts); a 401 keeps
 * them spooled and is reported, so that the daemon enrolls again.
 */
import { errnoOf } from '../errors.js';
import { createFsStateStore } from '../state/fs-store.js';
import type { StateStore } from '../state/store.js';
import type { Clock } from '../system/clock.js';
import type { HttpClient } from '../system/http.js';
import { hostOs } from '../system/platform.js';
import { readEndpointIdentity } from '../crontopus/identity.js';
import { buildRequest, deliver } from './checkin.js';
import type { CheckinProtocol } from './checkin.js';
import { isProcessAlive, selfIdentity } from './lock.js';
import type { BackoffPolicy } from './retry.js';
import { createResolver } from './secrets.js';
import { DEFAULT_SPOOL_LIMITS, SENDING_HERE } from './spool-entry.js';
import type { SpoolEntry, SpoolLimits } from './spool-entry.js';
import type { Logger } from './types.js';

export { listSpool, writeSpoolEntry } from './spool-entry.js';
export type { SpoolEntry, SpoolLimits } from './spool-entry.js';

/** Appends drop records; their lines, across the record's rotations, are the `dropped` total. @throws {IoError} */
export async function recordDropped(stateDir: string | StateStore, entries: Array<{ jobId: string; runId: string }>, reason: string, now: Date): Promise<void> {
  const state = typeof stateDir === 'string' ? createFsStateStore(stateDir) : stateDir;
  await state.recordDropped(entries.map((e) => ({ at: now.toISOString(), jobId: e.jobId, runId: e.runId, reason })));
}

/** Numbers for the status file: `checkins: { spooled, dropped }` (see StateStore.spoolStats). */
export async function spoolStats(stateDir: string): Promise<{ spooled: number; dropped: number }> {
  return createFsStateStore(stateDir).spoolStats();
}

/** Options of {@link flushSpool}. */
export interface FlushOptions {
  stateDir: string;
  /** The state dir's store [the file-system store of `stateDir`]. */
  state?: StateStore;
  http: HttpClient;
  clock: Clock;
  log: Logger;
  /** Where `${VAR}` of secrets are looked up first (then the entry's secrets file). */
  env: Record<string, string | undefined>;
  /** Total time for this flush; entries not reached stay spooled. */
  budgetMs: number;
  limits?: SpoolLimits;
  requestTimeoutMs?: number;
  policy?: BackoffPolicy;
  random?: () => number;
  signal?: AbortSignal;
}

/** Outcome of one flush. `busy` = another process is flushing. */
export interface FlushResult {
  delivered: number;
  rejected: number;
  dropped: number;
  remaining: number;
  busy: boolean;
  /** Set when a crontopus-agent check-in got a 401: the endpoint token was refused. */
  refused?: true;
}

/**
 * Delivers spooled check-ins oldest first with the check-in retry policy, deleting each only
 * after a 2xx. An entry that cannot be delivered stays for later, with the rest of its URL's
 * entries (that server is likely down); entries for other URLs are still tried. Enforces the age
 * and count limits first. One flusher at a time.
 */
export async function flushSpool(o: FlushOptions): Promise<FlushResult> {
  const res: FlushResult = { delivered: 0, rejected: 0, dropped: 0, remaining: 0, busy: false };
  const state = o.state ?? createFsStateStore(o.stateDir);
  const files = await state.listSpool();
  const now = o.clock.now();
  if (files.length === 0) {
    // Nothing to deliver, but a spool of temp files only is swept too. No lock: a sweep only
    // removes what no writer has touched for an hour, and a file already gone is skipped.
    await sweepTemps(state, now, o.log);
    return res;
  }
  const problem = await state.spoolProblem().catch((err: unknown) => `cannot check it: ${(err as Error).message}`);
  if (problem !== null) {
    // Its entries could send this agent's secrets wherever whoever wrote them wants.
    o.log.error({ problem }, 'Spool not flushed: its directory is not this agent\'s alone');
    return { ...res, remaining: files.length };
  }
  const me = selfIdentity();
  const lock = await state.flushLock().tryAcquire({ ...me, runId: 'flush', startedAt: now.toISOString() });
  if (!lock.acquired) return { ...res, busy: true, remaining: files.length };
  try {
    await sweepTemps(state, now, o.log);
    const limits = o.limits ?? DEFAULT_SPOOL_LIMITS;
    const maxAgeMs = limits.maxAgeDays * 86_400_000;
    // Only what the limits and the order need is kept of each entry (not its output, up to 10,000
    // characters): an outage can leave thousands; each is read again just before it is sent.
    const entries: Queued[] = [];
    const damaged: Array<{ jobId: string; runId: string }> = [];
    const kept: string[] = [];
    for (const [i, f] of files.entries()) {
      // Entries are read synchronously: a daemon's event loop (health, webhooks, stop signals)
      // gets a turn every READ_BATCH of them, also when an outage left thousands.
      if (i > 0 && i % READ_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
      const entry = await readEntry(state, f);
      if (entry === 'gone') continue;
      if (entry === 'unreadable' || entry === 'damaged') {
        // Undeliverable, but still bound by the age limit, read from its name: never kept (and counted)
        // forever, also when that name is from the future (a clock that was wrong, or not ours).
        if (entry === 'damaged' && Math.abs(now.getTime() - Number(f.slice(0, 14))) > maxAgeMs && remove(state, f)) {
          damaged.push({ jobId: 'unknown', runId: f.slice(15, -'.json'.length) });
        } else kept.push(f);
        continue;
      }
      // An owner that is alive is still delivering it itself; this process knows what it sends.
      if (entry.owner && (entry.owner.pid === process.pid ? SENDING_HERE.has(f) : isProcessAlive(entry.owner.pid, entry.owner.startTime))) continue;
      entries.push({ name: f, jobId: entry.jobId, runId: entry.payload.run_id, url: entry.url, createdMs: Date.parse(entry.createdAt) });
    }
    // Info, not warn: `exec` would print it after every run (cron mails it) while one is there.
    if (kept.length) o.log.info({ count: kept.length, first: kept[0] }, 'Spooled check-ins that cannot be read or are damaged, kept until they expire');
    if (damaged.length) {
      res.dropped += damaged.length;
      await countDropped(o, state, damaged, 'max-age', now);
      o.log.warn({ count: damaged.length, reason: 'max-age' }, 'Damaged spooled check-ins dropped');
    }
    const tooOld = entries.filter((e) => now.getTime() - e.createdMs > maxAgeMs);
    const young = entries.filter((e) => !tooOld.includes(e));
    const overCount = young.slice(0, Math.max(0, young.length - limits.maxCount));
    for (const [list, reason] of [[tooOld, 'max-age'], [overCount, 'max-count']] as const) {
      if (list.length === 0) continue;
      // Recorded before they are deleted. While the record cannot be written for a reason that
      // passes (a full disk, no free descriptor, an I/O error, a file held by another program)
      // they stay spooled until it can (the spool cannot grow on a full disk either). A record
      // that can never be written (a directory in its place, permissions) would keep them, and
      // the spool would grow past its limits, for good: they are deleted, and logged (with the
      // error, naming the record) and counted in the flush's `dropped` (the daemon's metric).
      const recorded = await countDropped(o, state, list.map((e) => ({ jobId: e.jobId, runId: e.runId })), reason, now);
      if (recorded === 'later') continue;
      for (const e of list) remove(state, e.name);
      res.dropped += list.length;
      o.log.warn({ count: list.length, reason, ...(recorded === 'failed' ? { recorded: false } : {}) }, 'Spooled check-ins dropped');
    }
    const queue = young.slice(overCount.length);
    const start = now.getTime();
    // Check-in URLs that failed in this flush: their later entries wait for the next flush, and
    // entries for other URLs (a job's own server, a URL changed since) are still delivered.
    const down = new Set<string>();
    // URLs that answered in this flush. One not heard from yet gets only its share of the time
    // left (split among the URLs not heard from), so that one that hangs until its request times
    // out cannot take every flush's whole budget, and with it the others' entries, for good.
    const reached = new Set<string>();
    const urls = new Set(queue.map((q) => q.url));
    for (let i = 0; i < queue.length; i++) {
      const { name, url } = queue[i] as Queued;
      const left = o.budgetMs - (o.clock.now().getTime() - start);
      if (left <= 0) {
        res.remaining += queue.length - i;
        break;
      }
      if (down.has(url)) {
        res.remaining++;
        continue;
      }
      const entry = await readEntry(state, name);
      if (entry === 'gone') continue;
      if (typeof entry === 'string') {
        // Unreadable or damaged since it was listed: the next flush judges it again.
        res.remaining++;
        continue;
      }
      let secret: string | undefined;
      const agent = entry.protocol === 'crontopus-agent';
      const identity = agent ? readEndpointIdentity(o.stateDir, entry.url) : null;
      try {
        if (agent && !identity) throw new Error('no Crontopus endpoint identity yet');
        secret = agent ? identity?.token : await entrySecret(o, state, entry);
      } catch (err) {
        o.log.warn({ jobId: entry.jobId, runId: entry.payload.run_id, err: (err as Error).message }, 'Spooled check-in kept: secret not resolvable');
        res.remaining++;
        continue;
      }
      let unheard = 0;
      for (const u of urls) if (!reached.has(u) && !down.has(u)) unheard++;
      // Alone, a URL keeps the whole budget and the usual request timeout, as slow as its server is.
      const split = !reached.has(entry.url) && unheard > 1;
      const share = split ? Math.max(1, Math.floor(left / unheard)) : left;
      const requestTimeoutMs = split ? Math.min(o.requestTimeoutMs ?? 10_000, share) : (o.requestTimeoutMs ?? 10_000);
      const r = await deliver(buildRequest(entry, secret, requestTimeoutMs, identity?.endpointId), {
        http: o.http, clock: o.clock, log: o.log, budgetMs: share, policy: o.policy, random: o.random, signal: o.signal, secret,
        fields: { jobId: entry.jobId, runId: entry.payload.run_id }, deferStatuses: agent ? [401] : undefined,
      });
      if (agent && r.statusCode === 401) res.refused = true;
      if (r.outcome === 'delivered' || r.outcome === 'rejected') {
        reached.add(entry.url);
        try {
          state.removeSpool(name);
        } catch (err) {
          // It would be sent again by every flush: stop here, loudly, rather than repeat the others too.
          o.log.error({ jobId: entry.jobId, runId: entry.payload.run_id, err: (err as Error).message }, 'Sent check-in cannot be deleted from the spool; flush stopped');
          res.remaining += queue.length - i - 1;
          break;
        }
        if (r.outcome === 'delivered') res.delivered++;
        else {
          res.rejected++;
          await countDropped(o, state, [{ jobId: entry.jobId, runId: entry.payload.run_id }], `rejected-${r.statusCode}`, o.clock.now());
        }
        continue;
      }
      res.remaining++;
      // A request that cannot be built says nothing of its server: only this entry waits.
      if (!r.unsendable) down.add(entry.url);
      if (o.signal?.aborted) {
        res.remaining += queue.length - i - 1;
        break;
      }
    }
    return res;
  } finally {
    await lock.lock.release();
  }
}

/** Removes the temp files that writers killed between write and rename left; an hour is far beyond any live write. */
async function sweepTemps(state: StateStore, now: Date, log: FlushOptions['log']): Promise<void> {
  const swept = await state.sweepSpool(new Date(now.getTime() - 3_600_000)).catch(() => 0);
  if (swept) log.info({ count: swept }, 'Temp files of interrupted spool writes removed');
}

/** Spool entries read between two turns of the event loop. */
const READ_BATCH = 256;

/** Protocols an entry can have: any other (a newer version's) would be sent as a legacy check-in. */
const PROTOCOLS: ReadonlySet<unknown> = new Set<CheckinProtocol>(['crontopus', 'healthchecks', 'crontopus-agent']);

/**
 * An entry; `gone` when deleted meanwhile (delivered by its owner); `unreadable` when it cannot be
 * read (permissions); `damaged` when it cannot be one (not JSON of this version, a FIFO, directory
 * or device in its place, too large).
 */
async function readEntry(state: StateStore, name: string): Promise<SpoolEntry | 'gone' | 'unreadable' | 'damaged'> {
  let text: string | null;
  try {
    text = await state.readSpool(name);
  } catch (err) {
    const code = errnoOf(err);
    return code === 'ENOTREG' || code === 'EFBIG' ? 'damaged' : 'unreadable';
  }
  if (text === null) return 'gone';
  try {
    const v = JSON.parse(text) as SpoolEntry | null;
    return v && v.version === 1 && PROTOCOLS.has(v.protocol) && v.payload && typeof v.payload.run_id === 'string' && typeof v.url === 'string' && typeof v.createdAt === 'string' && !Number.isNaN(Date.parse(v.createdAt)) ? v : 'damaged';
  } catch {
    return 'damaged';
  }
}

/** What a flush keeps of a spooled entry between its listing and its delivery. */
interface Queued {
  name: string;
  jobId: string;
  runId: string;
  url: string;
  createdMs: number;
}

/**
 * Errors after which the drop record can never be written until someone changes the state dir:
 * something else in its place (a directory, a FIFO, a link loop), a read-only file system, or
 * permissions (on POSIX; on Windows EPERM/EACCES are also what a file held open by another
 * program, such as a virus scanner, gives, which passes).
 */
const PERMANENT: ReadonlySet<unknown> = new Set(['EISDIR', 'ENOTDIR', 'ENOTREG', 'ENXIO', 'ELOOP', 'EROFS', ...(hostOs === 'win32' ? [] : ['EACCES', 'EPERM'])]);

/**
 * Records dropped entries: `recorded`; else (logged with the error, which names the record)
 * `failed` when it can never be written as things are ({@link PERMANENT}), or `later` for
 * anything that passes (a full disk, EMFILE, EIO, EBUSY, …).
 */
async function countDropped(o: FlushOptions, state: StateStore, entries: Array<{ jobId: string; runId: string }>, reason: string, now: Date): Promise<'recorded' | 'later' | 'failed'> {
  try {
    await recordDropped(state, entries, reason, now);
    return 'recorded';
  } catch (err) {
    o.log.error({ count: entries.length, reason, runIds: entries.map((x) => x.runId), err: (err as Error).message }, 'Cannot record dropped check-ins');
    return PERMANENT.has(errnoOf(err)) ? 'failed' : 'later';
  }
}

/** Deletes a spool entry; false when it was gone or cannot be deleted. */
function remove(state: StateStore, name: string): boolean {
  try {
    return state.removeSpool(name);
  } catch {
    return false;
  }
}

async function entrySecret(o: FlushOptions, state: StateStore, entry: SpoolEntry): Promise<string | undefined> {
  let template = entry.secretRef;
  let secretsFile = entry.secretsFile;
  if (template === null) {
    const snap = await state.readSnapshot(entry.jobId).catch(() => null);
    template = snap?.job.spec.checkin.secret ?? null;
    secretsFile ??= snap?.runtime.secretsFile;
  }
  return template === null ? undefined : createResolver(o.env, secretsFile)(template, 'spec.checkin.secret');
}

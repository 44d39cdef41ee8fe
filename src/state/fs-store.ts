/**
 * The file-system {@link StateStore}: the layout of ./store.ts under one state dir. Loaded by
 * `cronsync exec`, so it imports only synchronous, cheap modules at start-up; what writes
 * durably (node:fs/promises through src/system/files.ts) or reads the status file is imported
 * on first use, which `exec` never makes.
 */
import { appendFileSync, chmodSync, closeSync, existsSync, lstatSync, openSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ioError, IoError, UsageError } from '../errors.js';
import type { JobId } from '../manifest/types.js';
import { lockHolder, tryAcquireLock } from '../shim/lock.js';
import { listSpool, spoolDir, writeSpoolEntrySync } from '../shim/spool-entry.js';
import { nodePlatform } from '../system/platform.js';
import type { Platform } from '../system/platform.js';
import { makeDirSync, NotRegularFileError, readRegularFileSync } from '../system/regular-file.js';
import { renameRetrySync } from '../system/rename.js';
import { BATCH_DELETED_FILE, BATCH_FILE, batchedSnapshot, deletedEntry, deletedHeader, listOfBatch, parseDeleted, readBatch, serializeBatch } from './batch.js';
import { appendDropRecord, createDropCounter } from './drop-count.js';
import type { DropRecordOptions } from './drop-count.js';
import { claimFireInstant } from './fired.js';
import { deleteLastRun, lastRunPath, parseLastRun, writeLastRun } from './runs.js';
import type { LastRun } from './runs.js';
import { jobSnapshotPath, NAME, parseJobId, readJobSnapshot, serializeJobSnapshot } from './snapshot-read.js';
import type { JobSnapshot } from './snapshot-read.js';
import { SOURCES_FILE, parseSources, serializeSources } from './sources-file.js';
import { STATE_MODES, SYNC_LOCK_FILE } from './store.js';
import type { DropRecord, StateLock, StateStore } from './store.js';
import { randomHex, readFileOrNullSync, removeFileSync } from './sync-io.js';

/** Options of {@link createFsStateStore}. */
export interface FsStateOptions {
  /** Lock identity and liveness, and how files are replaced [nodePlatform]. */
  platform?: Platform;
  /** When the drop record is rotated (tests) [DROP_RECORD_MAX_BYTES, DROP_RECORD_SETTLE_MS]. */
  dropRecord?: Pick<DropRecordOptions, 'maxBytes' | 'settleMs'>;
}

/** Temp name of an atomic snapshot write (`.<name>.json.<12 hex>.tmp`, see writeFileAtomicSync). */
const SNAPSHOT_TEMP = /^\.[a-z0-9][-a-z0-9]*\.json\.[0-9a-f]{12}\.tmp$/;
/** Temp name of an atomic batch write (see atomicWriteFile). */
const BATCH_TEMP = /^\.jobs\.batch\.json\.[0-9a-f]{12}\.tmp$/;
/** A spool entry's file name (src/shim/spool-entry.ts). */
const SPOOL_NAME = /^\d{14}-[^./\\]+\.json$/;
/** Temp name of an atomic spool write (`.<entry name>.<12 hex>.tmp`, see writeFileAtomicSync). */
const SPOOL_TEMP = /^\.\d{14}-[^./\\]+\.json\.[0-9a-f]{12}\.tmp$/;

/** The largest spool entry read; `exec` writes at most about 70 KiB (10,000 characters of output, JSON-escaped). */
const MAX_SPOOL_ENTRY_BYTES = 1024 * 1024;

/** The largest last-run record read; `exec` writes about 250 bytes. */
const MAX_RUN_RECORD_BYTES = 64 * 1024;

/**
 * The last-run record at `path`, or null when there is none, or none that `exec` wrote: a FIFO
 * or device in its place (opened without blocking and never read, see regular-file.ts: this runs
 * on the daemon's event loop), a file past {@link MAX_RUN_RECORD_BYTES}, or one whose fields are
 * not what a status row shows (they would make the status file invalid).
 * @throws {IoError} when it cannot be read for another reason (permissions).
 */
function readLastRunRecord(path: string): LastRun | null {
  let data: Buffer;
  try {
    ({ data } = readRegularFileSync(path, { maxBytes: MAX_RUN_RECORD_BYTES }));
  } catch (err) {
    // ENXIO: a socket, which cannot be opened.
    if (err instanceof NotRegularFileError || ['ENOENT', 'ENXIO'].includes((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw ioError('read', path, err);
  }
  if (data.length > MAX_RUN_RECORD_BYTES) return null;
  const run = parseLastRun(data.toString('utf8'));
  return run && isRunRow(run) ? run : null;
}

const RUN_STATUSES: ReadonlySet<unknown> = new Set(['success', 'failure', 'timeout', 'cancelled', 'skipped']);
const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;

/** Whether a record's fields that a status row shows have their types (status.v1.schema.json). */
function isRunRow(run: LastRun): boolean {
  return RUN_STATUSES.has(run.status) && (run.exitCode === null || Number.isSafeInteger(run.exitCode)) && isCount(run.durationMs) && isCount(run.attempts);
}

/** The id of a snapshot's job. */
export function snapshotId(s: JobSnapshot): JobId {
  return `${s.job.metadata.tenant}/${s.job.metadata.name}`;
}

/** The state store of state dir `dir` on this host's file system. */
export function createFsStateStore(dir: string, o: FsStateOptions = {}): StateStore {
  const platform = o.platform ?? nodePlatform;
  /** Windows: the state dir's ACL was found private once (icacls is not run on every sync). */
  let checkedPrivate = false;
  const path = (rel: string): string => join(dir, ...rel.split('/'));
  const read = (rel: string): string | null => readFileOrNullSync(path(rel));
  /** `checkins.dropped`: the drop record is counted on from where the last count stopped. */
  const dropCounter = createDropCounter(dir);
  const files = () => import('../system/files.js');
  const lockAt = (key: string): StateLock => ({
    key,
    tryAcquire: (holder, lo = {}) => tryAcquireLock(key, holder, { platform, ...lo }),
    holder: () => lockHolder(key, { platform }),
  });
  /**
   * The ids the batch holds and those deleted from it, with the identity of the batch file they
   * were read for (device, inode, size, times): a sync deleting snapshots right after writing
   * the batch, or `prune` deleting many, reads them once, not once a deletion.
   */
  let batchIds: { identity: string; generation: string; ids: ReadonlySet<string>; deleted: Set<string>; listed: boolean } | undefined;
  /** The identity of the batch file, or null when there is none. @throws {IoError} */
  const batchIdentity = (): string | null => {
    try {
      const st = statSync(path(BATCH_FILE), { bigint: true, throwIfNoEntry: false });
      return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : null;
    } catch (err) {
      throw ioError('read', path(BATCH_FILE), err);
    }
  };
  /**
   * Lists job `id` as deleted from the batch when the batch holds a copy of it not yet listed;
   * whether it did. @throws {IoError}
   */
  const unbatch = (id: string): boolean => {
    const identity = batchIdentity();
    if (identity === null) return false;
    if (batchIds?.identity !== identity) {
      const list = read(BATCH_DELETED_FILE);
      const batch = readBatch(read(BATCH_FILE));
      const generation = batch?.generation ?? '';
      batchIds = { identity, generation, ids: new Set(batch?.snapshots.keys()), deleted: parseDeleted(list, generation), listed: listOfBatch(list, generation) };
    }
    if (!batchIds.ids.has(id) || batchIds.deleted.has(id)) return false;
    try {
      // The first deletion from this batch replaces a list of another batch; read again first,
      // since another process (`prune`, under the sync lock) may have started this batch's list.
      if (!batchIds.listed) batchIds.listed = listOfBatch(read(BATCH_DELETED_FILE), batchIds.generation);
      if (batchIds.listed) appendFileSync(path(BATCH_DELETED_FILE), deletedEntry(id), { mode: STATE_MODES.private });
      else writeFileSync(path(BATCH_DELETED_FILE), `${deletedHeader(batchIds.generation)}${deletedEntry(id)}`, { mode: STATE_MODES.private });
    } catch (err) {
      throw ioError('write', path(BATCH_DELETED_FILE), err);
    }
    batchIds.listed = true;
    batchIds.deleted.add(id);
    return true;
  };
  const spoolPath = (name: string): string => {
    if (!SPOOL_NAME.test(name)) throw new UsageError(`Invalid spool entry name "${name}"`, { name });
    return join(spoolDir(dir), name);
  };
  /**
   * Creates `file` with `text` when there is no such file (true); false when there is one. A
   * write or close that fails removes the file, after closing it. @throws {IoError}
   */
  const createNew = (file: string, text: string): boolean => {
    let fd: number;
    try {
      fd = openSync(file, 'wx', STATE_MODES.private);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw ioError('write', file, err);
    }
    let failure: unknown;
    try {
      writeFileSync(fd, text);
    } catch (err) {
      failure = err;
    }
    try {
      closeSync(fd);
    } catch (err) {
      failure ??= err;
    }
    if (failure === undefined) return true;
    removeQuietly(file);
    throw ioError('write', file, failure);
  };
  /**
   * Snapshot files, without fsync: the batch written before them is the durable copy. The file
   * of a job new to the dir is created in place (see below); any other is renamed into place from
   * a complete temp file. Synchronous system calls, {@link CHUNK} files between two turns of the
   * event loop: on the thread pool, the hops and promises of four calls a file cost 2-4 times the
   * calls themselves (issue #16 item 7). A tenant's directory is made once; temp names come from
   * one random prefix. Returns the number written.
   */
  const putSnapshots = async (entries: ReadonlyArray<readonly [string, string]>): Promise<number> => {
    if (entries.length === 0) return 0;
    const prefix = randomHex(3);
    const made = new Set<string>();
    for (let n = 0; n < entries.length; n++) {
      // Lets timers and sockets (the daemon's health endpoint) run during a large sync.
      if (n > 0 && n % CHUNK === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const [id, text] = entries[n]!;
      const { tenant, name } = parseJobId(id);
      const d = path(`jobs/${tenant}`);
      if (!made.has(d)) {
        makeDirSync(d, STATE_MODES.dir);
        made.add(d);
      }
      const file = join(d, `${name}.json`);
      // A job new to this state dir has no file yet, and nothing reads it before its entry is
      // applied: its file is created in place (one rename fewer each, on a first install of
      // thousands). A reader that finds it cut short, or a crash that leaves it so, gets the
      // batch's copy (snapshot-read.ts, recoverSnapshots).
      if (createNew(file, text)) continue;
      const tmp = join(d, `.${name}.json.${prefix}${n.toString(16).padStart(6, '0')}.tmp`);
      try {
        // The mode at creation (less the umask, which never opens it up) is private.
        writeFileSync(tmp, text, { mode: STATE_MODES.private, flag: 'wx' });
        renameRetrySync(tmp, file, { win: platform.kind === 'win32' });
      } catch (err) {
        removeQuietly(tmp);
        throw ioError('write', file, err);
      }
    }
    return entries.length;
  };

  return {
    dir,
    async prepare() {
      platform.makePrivateDir(dir);
      // Windows: the dir holds the jobs' snapshots and spooled reports, and its ACL is all that
      // guards them (SYSTEM and Administrators only). POSIX keeps per-file modes instead: run-as
      // users must reach their jobs' snapshots, so the dir itself may be 0755.
      if (platform.kind === 'win32' && !checkedPrivate) {
        const problem = platform.privateDirProblem(dir);
        if (problem !== null) throw new IoError(`State dir is not private: ${problem}`, { path: dir });
        checkedPrivate = true;
      }
    },

    async listSnapshots() {
      const ids: JobId[] = [];
      for (const tenant of list(path('jobs'))) {
        if (!NAME.test(tenant)) continue;
        for (const file of list(path(`jobs/${tenant}`))) {
          const name = file.endsWith('.json') ? file.slice(0, -5) : '';
          if (NAME.test(name)) ids.push(`${tenant}/${name}`);
        }
      }
      return ids.sort();
    },
    readSnapshot: (id) => readJobSnapshot(dir, id),
    // The batch is read only when the file is missing: `exec` asks after every run.
    hasSnapshotFile: (id) => existsSync(jobSnapshotPath(dir, id)) || batchedSnapshot(id, read) !== undefined,
    async writeSnapshots(snapshots) {
      if (snapshots.length === 0) return;
      const entries = snapshots.map((s) => [snapshotId(s), serializeJobSnapshot(s)] as const);
      // A new generation: the deleted list of the batch before no longer counts (./batch.ts).
      const generation = randomHex(8);
      // The one fsync of the sync's snapshots (data, then the rename in jobs/).
      await (await files()).atomicWriteFile(path(BATCH_FILE), serializeBatch(entries, generation), STATE_MODES.private);
      const identity = batchIdentity();
      batchIds = identity === null ? undefined : { identity, generation, ids: new Set(entries.map(([id]) => id)), deleted: new Set(), listed: false };
      await putSnapshots(entries);
    },
    async settleSnapshots() {
      removeFileSync(path(BATCH_FILE));
      removeFileSync(path(BATCH_DELETED_FILE));
    },
    async recoverSnapshots() {
      removeTemps(dir, BATCH_TEMP);
      for (const tenant of list(path('jobs'))) if (NAME.test(tenant)) removeTemps(path(`jobs/${tenant}`), SNAPSHOT_TEMP);
      const listed = read(BATCH_DELETED_FILE);
      const text = read(BATCH_FILE);
      const batch = readBatch(text);
      if (batch === null) {
        if (text !== null) removeFileSync(path(BATCH_FILE));
        removeFileSync(path(BATCH_DELETED_FILE));
        return 0;
      }
      const deleted = parseDeleted(listed, batch.generation);
      return putSnapshots([...batch.snapshots].filter(([id, text]) => {
        if (deleted.has(id)) return false;
        const { tenant, name } = parseJobId(id);
        return read(`jobs/${tenant}/${name}.json`) !== text;
      }));
    },
    async deleteSnapshot(id) {
      const { tenant, name } = parseJobId(id);
      const file = removeFileSync(path(`jobs/${tenant}/${name}.json`));
      // Listed before this returns, and so before the caller deletes the job's last-run record.
      return unbatch(`${tenant}/${name}`) || file;
    },

    // Synchronous: a sync reads one per job that listLastRuns found (a file deleted in between is null).
    async readLastRun(id) {
      return readLastRunRecord(lastRunPath(dir, id));
    },
    async listLastRuns() {
      const ids = new Set<string>();
      for (const tenant of list(path('runs'))) {
        if (!NAME.test(tenant)) continue;
        for (const file of list(path(`runs/${tenant}`))) {
          const name = file.endsWith('.json') ? file.slice(0, -5) : '';
          if (NAME.test(name)) ids.add(`${tenant}/${name}`);
        }
      }
      return ids;
    },
    writeLastRun: (id, run) => writeLastRun(dir, id, run),
    deleteLastRun: (id) => deleteLastRun(dir, id),
    claimFire: (id, instant, monotonic) => claimFireInstant(dir, id, instant, monotonic),

    async readSources() {
      const text = read(SOURCES_FILE);
      const record = parseSources(text);
      return { record, damaged: text !== null && record === null };
    },
    async writeSources(record) {
      await (await files()).atomicWriteFile(path(SOURCES_FILE), serializeSources(record), STATE_MODES.public);
    },

    async readStatus() {
      return (await import('../status/io.js')).readStatus(dir);
    },
    async writeStatus(status) {
      await (await import('../status/io.js')).writeStatus(dir, status);
    },
    async deleteStatus() {
      return removeFileSync(path('status.json'));
    },
    async statusStamp() {
      return (await import('../status/io.js')).statusIdentity(dir);
    },

    listSpool: () => listSpool(dir),
    // Opened without blocking and checked on the descriptor (regular-file.ts): a FIFO named like
    // an entry would otherwise hang `exec` after its run, and the daemon's event loop.
    async readSpool(name) {
      const file = spoolPath(name);
      let data: Buffer;
      try {
        ({ data } = readRegularFileSync(file, { maxBytes: MAX_SPOOL_ENTRY_BYTES }));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw ioError('read', file, err);
      }
      if (data.length > MAX_SPOOL_ENTRY_BYTES) throw ioError('read', file, Object.assign(new Error(`larger than ${MAX_SPOOL_ENTRY_BYTES} bytes`), { code: 'EFBIG' }));
      return data.toString('utf8');
    },
    writeSpool(entry, durable) {
      return basename(writeSpoolEntrySync(dir, entry, durable));
    },
    removeSpool: (name) => removeFileSync(spoolPath(name)),
    async sweepSpool(before) {
      let swept = 0;
      for (const name of list(spoolDir(dir))) {
        if (!SPOOL_TEMP.test(name)) continue;
        const file = join(spoolDir(dir), name);
        const st = lstatSync(file, { throwIfNoEntry: false });
        if (st?.isFile() && st.mtimeMs < before.getTime() && removeFileSync(file)) swept++;
      }
      return swept;
    },
    async spoolProblem() {
      const getuid = process.getuid;
      if (platform.kind === 'win32' || getuid === undefined) return null;
      const spool = spoolDir(dir);
      const st = lstatSync(spool, { throwIfNoEntry: false });
      if (st === undefined) return null;
      if (!st.isDirectory()) return `${spool} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}`;
      const uid = getuid();
      if (st.uid !== uid) return `${spool} is owned by uid ${st.uid}, not by this agent (uid ${uid})`;
      if ((st.mode & 0o022) !== 0) {
        try {
          chmodSync(spool, 0o700);
        } catch (err) {
          return `${spool} is writable by others (mode ${(st.mode & 0o777).toString(8)}) and cannot be made private: ${(err as Error).message}`;
        }
      }
      return null;
    },
    async recordDropped(records) {
      if (records.length === 0) return;
      // One O_APPEND write of a small buffer: appends of other processes do not interleave with it.
      await appendDropRecord(dir, dropLines(records), { ...o.dropRecord, platform });
    },
    async spoolStats() {
      return { spooled: (await listSpool(dir)).length, dropped: dropCounter.count() };
    },

    jobLock(id) {
      const { tenant, name } = parseJobId(id);
      return lockAt(path(`locks/${tenant}/${name}.lock`));
    },
    syncLock: () => lockAt(path(SYNC_LOCK_FILE)),
    flushLock: () => lockAt(join(spoolDir(dir), '.flush.lock')),
  };
}

export { DROPPED_FILE } from './drop-count.js';

/** Lines of the drop record for `records`. */
export function dropLines(records: readonly DropRecord[]): string {
  return `${records.map((r) => JSON.stringify({ at: r.at, jobId: r.jobId, runId: r.runId, reason: r.reason })).join('\n')}\n`;
}

/** Non-blank lines of a drop record (the `dropped` count); 0 for none. */
export function countLines(text: string | null): number {
  return (text ?? '').split('\n').filter((l) => l.trim() !== '').length;
}

/** Snapshot files written between two turns of the event loop. */
const CHUNK = 256;

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Never created.
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Removes temp files a killed writer left in `dir` (as the cron.d adapter does for its file). */
function removeTemps(dir: string, temp: RegExp): void {
  for (const name of list(dir)) if (temp.test(name)) removeFileSync(join(dir, name));
}

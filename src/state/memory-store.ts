/**
 * The in-memory {@link StateStore}, for tests: the file layout of ./store.ts kept as a map of
 * relative paths to texts and modes, read and written with the same formats and parsers as
 * the file-system store, so that both pass test/state/store.contract.test.ts. Writes are atomic
 * and durable by nature; {@link MemoryStateStore.files} lets a test damage or inspect a file.
 */
import { IoError, UsageError } from '../errors.js';
import type { JobId } from '../manifest/types.js';
import type { AcquireResult, LockHolder, LockOptions } from '../shim/lock.js';
import { spoolFileName } from '../shim/spool-entry.js';
import { parseStatus, serializeStatus } from '../status/io.js';
import { hostMonotonicMs } from '../system/clock.js';
import { nodePlatform } from '../system/platform.js';
import { BATCH_DELETED_FILE, BATCH_FILE, batchedSnapshot, deletedEntry, deletedHeader, listOfBatch, parseDeleted, readBatch, serializeBatch } from './batch.js';
import { MAX_SLOT, claimRecord, firedMarkerPath, isStaleClaim, slotPath } from './fired.js';
import { DROPPED_FILE, countLines, dropLines, snapshotId } from './fs-store.js';
import { parseLastRun, serializeLastRun } from './runs.js';
import { NAME, parseJobId, readSnapshotFrom, serializeJobSnapshot } from './snapshot-read.js';
import { SOURCES_FILE, parseSources, serializeSources } from './sources-file.js';
import { randomHex } from './sync-io.js';
import { STATE_MODES, SYNC_LOCK_FILE } from './store.js';
import type { StateLock, StateStore } from './store.js';

/** One stored file. */
export interface MemoryFile { text: string; mode: number }

const SPOOL_NAME = /^\d{14}-[^./\\]+\.json$/;
const MS_DAY = 86_400_000;

/** A state dir in memory. `dir` is only a name (entries pass it to `exec --state-dir`). */
export class MemoryStateStore implements StateStore {
  /** Every file by path relative to the state dir (`jobs/acme/a.json`). */
  readonly files = new Map<string, MemoryFile>();
  /** Number of durable (fsynced, in the fs store) writes, to check the cost of a sync. */
  durableWrites = 0;
  private readonly locks = new Map<string, LockHolder>();
  /** The ids each batch file holds (see deleteSnapshot). */
  private readonly batchIds = new WeakMap<MemoryFile, { generation: string; ids: ReadonlySet<string> }>();
  private prepared = false;

  constructor(readonly dir = '/memory/state', private readonly isAlive: (pid: number, startTime: string | null) => boolean = (p, s) => nodePlatform.isAlive(p, s)) {}

  /** True once {@link prepare} ran. */
  get exists(): boolean {
    return this.prepared;
  }

  /** The text of a file, or null. */
  text(rel: string): string | null {
    return this.files.get(rel)?.text ?? null;
  }

  private put(rel: string, text: string, mode: number, durable = false): void {
    this.files.set(rel, { text, mode });
    if (durable) this.durableWrites++;
  }

  private remove(rel: string): boolean {
    return this.files.delete(rel);
  }

  async prepare(): Promise<void> {
    this.prepared = true;
  }

  async listSnapshots(): Promise<JobId[]> {
    const ids: JobId[] = [];
    for (const rel of this.files.keys()) {
      const m = /^jobs\/([^/]+)\/([^/]+)\.json$/.exec(rel);
      if (m && NAME.test(m[1]!) && NAME.test(m[2]!)) ids.push(`${m[1]!}/${m[2]!}`);
    }
    return ids.sort();
  }

  async readSnapshot(id: JobId | string) {
    return readSnapshotFrom(this.dir, id, (rel) => this.text(rel));
  }

  hasSnapshotFile(id: JobId | string): boolean {
    return this.files.has(snapshotRel(id)) || batchedSnapshot(id, (rel) => this.text(rel)) !== undefined;
  }

  async writeSnapshots(snapshots: Parameters<StateStore['writeSnapshots']>[0]): Promise<void> {
    if (snapshots.length === 0) return;
    const entries = snapshots.map((s) => [snapshotId(s), serializeJobSnapshot(s)] as const);
    this.put(BATCH_FILE, serializeBatch(entries, randomHex(8)), STATE_MODES.private, true);
    for (const [id, text] of entries) this.put(snapshotRel(id), text, STATE_MODES.private);
  }

  async settleSnapshots(): Promise<void> {
    this.remove(BATCH_FILE);
    this.remove(BATCH_DELETED_FILE);
  }

  async recoverSnapshots(): Promise<number> {
    const list = this.text(BATCH_DELETED_FILE);
    const batch = readBatch(this.text(BATCH_FILE));
    if (batch === null) {
      this.remove(BATCH_FILE);
      this.remove(BATCH_DELETED_FILE);
      return 0;
    }
    const deleted = parseDeleted(list, batch.generation);
    let rewritten = 0;
    for (const [id, text] of batch.snapshots) {
      if (deleted.has(id) || this.text(snapshotRel(id)) === text) continue;
      this.put(snapshotRel(id), text, STATE_MODES.private);
      rewritten++;
    }
    return rewritten;
  }

  async deleteSnapshot(id: JobId | string): Promise<boolean> {
    const file = this.remove(snapshotRel(id));
    const batch = this.files.get(BATCH_FILE);
    if (batch === undefined) return file;
    // Parsed once per batch written: a test deleting thousands of jobs does not parse it each time.
    let parsed = this.batchIds.get(batch);
    if (parsed === undefined) {
      const b = readBatch(batch.text);
      this.batchIds.set(batch, (parsed = { generation: b?.generation ?? '', ids: new Set(b?.snapshots.keys()) }));
    }
    const list = this.text(BATCH_DELETED_FILE);
    if (!parsed.ids.has(id) || parseDeleted(list, parsed.generation).has(id)) return file;
    // The first deletion from this batch replaces a list of another batch (./batch.ts).
    this.put(BATCH_DELETED_FILE, `${listOfBatch(list, parsed.generation) ? list : deletedHeader(parsed.generation)}${deletedEntry(id)}`, STATE_MODES.private);
    return true;
  }

  async readLastRun(id: JobId | string) {
    const text = this.text(runRel(id));
    return text === null ? null : parseLastRun(text);
  }

  async listLastRuns(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const k of this.files.keys()) {
      const m = /^runs\/([^/]+)\/([^/]+)\.json$/.exec(k);
      if (m && NAME.test(m[1]!) && NAME.test(m[2]!)) ids.add(`${m[1]}/${m[2]}`);
    }
    return ids;
  }

  async writeLastRun(id: JobId | string, run: Parameters<StateStore['writeLastRun']>[1]): Promise<void> {
    this.put(runRel(id), serializeLastRun(run), STATE_MODES.private);
  }

  async deleteLastRun(id: JobId | string): Promise<boolean> {
    const rel = runRel(id);
    const markers = `${rel.slice(0, -'.json'.length)}/`;
    for (const k of [...this.files.keys()]) if (k.startsWith(markers)) this.remove(k);
    return this.remove(rel);
  }

  claimFire(id: JobId | string, instant: Date, monotonic: () => number = hostMonotonicMs) {
    const t = instant.getTime();
    if (!Number.isFinite(t)) throw new IoError(`Invalid scheduled instant for ${String(id)}`, { id });
    const first = firedMarkerPath('', id, instant).split(/[\\/]/).join('/');
    const day = first.slice(0, first.lastIndexOf('/') + 1);
    const fired = day.slice(0, day.slice(0, -1).lastIndexOf('/') + 1);
    // The first claim of a day prunes days before yesterday and after tomorrow, as fired.ts does.
    if (![...this.files.keys()].some((k) => k.startsWith(day))) {
      const today = Math.floor(t / MS_DAY);
      for (const k of [...this.files.keys()]) {
        if (!k.startsWith(fired)) continue;
        const d = Date.parse(`${k.slice(fired.length, fired.length + 10)}T00:00:00Z`) / MS_DAY;
        if (Number.isInteger(d) && (d < today - 1 || d > today + 1)) this.remove(k);
      }
    }
    // A stale claim (made more than a day earlier by the monotonic clock) does not count: the
    // next slot of the minute is claimed instead, as fired.ts does.
    for (let slot = 0; ; slot++) {
      const rel = slotPath(first, slot);
      const held = this.text(rel);
      if (held === null) {
        this.put(rel, claimRecord(monotonic()), STATE_MODES.private);
        return { claimed: true, path: rel };
      }
      if (slot >= MAX_SLOT || !isStaleClaim(held, monotonic())) return { claimed: false, path: rel };
    }
  }

  async readSources() {
    const text = this.text(SOURCES_FILE);
    const record = parseSources(text);
    return { record, damaged: text !== null && record === null };
  }

  async writeSources(record: Parameters<StateStore['writeSources']>[0]): Promise<void> {
    this.put(SOURCES_FILE, serializeSources(record), STATE_MODES.public, true);
  }

  async readStatus() {
    const text = this.text('status.json');
    return text === null ? null : parseStatus(text, `${this.dir}/status.json`);
  }

  async writeStatus(status: Parameters<StateStore['writeStatus']>[0]): Promise<void> {
    const text = serializeStatus(status);
    if (this.text('status.json') !== text) this.put('status.json', text, STATE_MODES.public, true);
  }

  async deleteStatus(): Promise<boolean> {
    return this.files.delete('status.json');
  }

  /** The status text itself: every status names its attempt's times, so no two are equal. */
  async statusStamp(): Promise<string | null> {
    return this.text('status.json');
  }

  async listSpool(): Promise<string[]> {
    return [...this.files.keys()].filter((k) => k.startsWith('spool/') && SPOOL_NAME.test(k.slice(6))).map((k) => k.slice(6)).sort();
  }

  async readSpool(name: string): Promise<string | null> {
    return this.text(spoolRel(name));
  }

  writeSpool(entry: Parameters<StateStore['writeSpool']>[0], durable: boolean): string {
    const name = spoolFileName(entry);
    this.put(spoolRel(name), JSON.stringify(entry), STATE_MODES.private, durable);
    return name;
  }

  removeSpool(name: string): boolean {
    return this.remove(spoolRel(name));
  }

  /** Writes here are never interrupted: nothing to sweep. */
  async sweepSpool(): Promise<number> {
    return 0;
  }

  /** No other account reaches memory. */
  async spoolProblem(): Promise<string | null> {
    return null;
  }

  async recordDropped(records: Parameters<StateStore['recordDropped']>[0]): Promise<void> {
    if (records.length === 0) return;
    this.put(DROPPED_FILE, `${this.text(DROPPED_FILE) ?? ''}${dropLines(records)}`, STATE_MODES.public);
  }

  async spoolStats(): Promise<{ spooled: number; dropped: number }> {
    return { spooled: (await this.listSpool()).length, dropped: countLines(this.text(DROPPED_FILE)) };
  }

  jobLock(id: JobId | string): StateLock {
    const { tenant, name } = parseJobId(id);
    return this.lockAt(`${this.dir}/locks/${tenant}/${name}.lock`);
  }

  syncLock(): StateLock {
    return this.lockAt(`${this.dir}/${SYNC_LOCK_FILE}`);
  }

  flushLock(): StateLock {
    return this.lockAt(`${this.dir}/spool/.flush.lock`);
  }

  private lockAt(key: string): StateLock {
    const locks = this.locks;
    const live = (h: LockHolder | undefined, o?: LockOptions): h is LockHolder => h !== undefined && (o?.isAlive ?? this.isAlive)(h.pid, h.startTime);
    return {
      key,
      async tryAcquire(holder: LockHolder, o?: LockOptions): Promise<AcquireResult> {
        const cur = locks.get(key);
        if (live(cur, o)) return { acquired: false, holder: cur };
        if (cur !== undefined) await o?.onStep?.('judged');
        let mine = { ...holder };
        locks.set(key, mine);
        return {
          acquired: true,
          lock: {
            async update(next) {
              if (locks.get(key) !== mine) return;
              mine = { ...next };
              locks.set(key, mine);
            },
            async release() {
              if (locks.get(key) === mine) locks.delete(key);
            },
          },
        };
      },
      async holder() {
        const cur = locks.get(key);
        return live(cur) ? cur : null;
      },
    };
  }
}

function snapshotRel(id: string): string {
  const { tenant, name } = parseJobId(id);
  return `jobs/${tenant}/${name}.json`;
}

function runRel(id: string): string {
  const { tenant, name } = parseJobId(id);
  return `runs/${tenant}/${name}.json`;
}

function spoolRel(name: string): string {
  if (!SPOOL_NAME.test(name)) throw new UsageError(`Invalid spool entry name "${name}"`, { name });
  return `spool/${name}`;
}

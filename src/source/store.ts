/**
 * ObjectStore is a bare git directory holding only packs: the source's clone, without a working
 * tree. `git` can read it (`git --git-dir DIR log`); cronsync reads trees and blobs straight from
 * the packs. Each update adds one pack and grows `shallow`; `compact` rewrites one pack holding
 * only the current commit, so the directory stays bounded.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { makeDirSync } from '../system/regular-file.js';
import path from 'node:path';
import { applyDelta, checkPack, PackFormatError, readEntry, readIndex, writeIndex, writePack } from './pack.js';
import type { GitObject, IndexedObject } from './pack.js';
import { renameRetrySync } from '../system/rename.js';

interface LoadedPack {
  name: string;
  index: Map<string, number>;
  data: Buffer | null;
}

const TYPES = ['', 'commit', 'tree', 'blob', 'tag'] as const;

/** The record of the last fetch, kept beside the objects so a restart can skip an unchanged fetch. */
export interface StoreRecord {
  commit: string;
  sourceId: string;
  ref: string;
  fetchedAt: string;
}

/** ObjectStore reads and writes the packs of one bare git directory. */
export class ObjectStore {
  private readonly packs: LoadedPack[] = [];

  private constructor(readonly gitdir: string) {}

  /**
   * Opens (creating if needed) the bare repository at `gitdir`.
   * @throws {PackFormatError} when an index is unreadable (the caller rebuilds the clone).
   */
  static open(gitdir: string): ObjectStore {
    const packDir = path.join(gitdir, 'objects', 'pack');
    if (!existsSync(path.join(gitdir, 'HEAD'))) {
      makeDirSync(packDir);
      makeDirSync(path.join(gitdir, 'refs', 'heads'));
      makeDirSync(path.join(gitdir, 'refs', 'tags'));
      writeFileSync(path.join(gitdir, 'config'), '[core]\n\trepositoryformatversion = 0\n\tbare = true\n');
      writeFileSync(path.join(gitdir, 'HEAD'), 'ref: refs/heads/cronsync\n');
    }
    makeDirSync(packDir);
    // Temp files of a fetch that was killed; they may be as big as a pack (syncs of a state dir
    // never overlap, so none is being written now).
    for (const dir of [gitdir, packDir, path.join(gitdir, 'refs', 'heads')]) {
      for (const f of existsSync(dir) ? readdirSync(dir) : []) if (/\.tmp-\d+$/.test(f)) rmSync(path.join(dir, f), { force: true });
    }
    const store = new ObjectStore(gitdir);
    for (const f of readdirSync(packDir).sort()) {
      if (!f.endsWith('.idx')) continue;
      const name = f.slice(0, -4);
      if (!existsSync(path.join(packDir, `${name}.pack`))) throw new PackFormatError(`pack ${name} is missing`);
      store.packs.push({ name, index: readIndex(readFileSync(path.join(packDir, f))), data: null });
    }
    return store;
  }

  /** Number of packs; `compact` brings it back to one. */
  get packCount(): number {
    return this.packs.length;
  }

  /** Whether the store holds object `oid`. */
  has(oid: string): boolean {
    return this.packs.some((p) => p.index.has(oid));
  }

  /**
   * Reads object `oid`, or undefined when absent.
   * @throws {PackFormatError} on corrupt data.
   */
  read(oid: string): GitObject | undefined {
    for (const p of this.packs) {
      const off = p.index.get(oid);
      if (off !== undefined) return this.readAt(p, off, 0);
    }
    return undefined;
  }

  private readAt(p: LoadedPack, offset: number, depth: number): GitObject {
    if (!p.data) {
      p.data = readFileSync(path.join(this.gitdir, 'objects', 'pack', `${p.name}.pack`));
      checkPack(p.data);
    }
    if (depth > 1000) throw new PackFormatError('delta chain too long');
    const e = readEntry(p.data, offset);
    const type = TYPES[e.code];
    if (type && e.code <= 4) return { type, data: e.raw };
    let base: GitObject | undefined;
    if (e.baseOffset !== undefined) base = this.readAt(p, e.baseOffset, depth + 1);
    else if (e.baseOid) base = this.read(e.baseOid);
    if (!base) throw new PackFormatError(`missing delta base ${e.baseOid ?? ''}`);
    return { type: base.type, data: applyDelta(base.data, e.raw) };
  }

  /** Stores a received pack (already parsed into `index` rows) with its `.idx`. */
  addPack(pack: Buffer, index: readonly IndexedObject[]): void {
    const name = `pack-${pack.subarray(pack.length - 20).toString('hex')}`;
    if (this.packs.some((p) => p.name === name)) return;
    const dir = path.join(this.gitdir, 'objects', 'pack');
    atomicWrite(path.join(dir, `${name}.pack`), pack);
    atomicWrite(path.join(dir, `${name}.idx`), writeIndex(pack, index));
    this.packs.push({ name, index: new Map(index.map((r) => [r.oid, r.offset])), data: pack });
  }

  /** Replaces every pack by one holding exactly `objects`, and makes `shallow` list only `commit`. */
  compact(objects: Iterable<[string, GitObject]>, commit: string): void {
    const { pack, index } = writePack(objects);
    const old = this.packs.splice(0);
    this.addPack(pack, index);
    const keep = this.packs[0]?.name;
    for (const p of old) {
      if (p.name === keep) continue;
      // The index goes first: a crash in between leaves a pack without index, which git ignores.
      rmSync(path.join(this.gitdir, 'objects', 'pack', `${p.name}.idx`), { force: true });
      rmSync(path.join(this.gitdir, 'objects', 'pack', `${p.name}.pack`), { force: true });
    }
    this.writeShallow([commit]);
  }

  /** Commits listed in `shallow` (the clone's history ends at them). */
  readShallow(): string[] {
    const f = path.join(this.gitdir, 'shallow');
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => /^[0-9a-f]{40}$/.test(l)) : [];
  }

  /** Writes `shallow`. */
  writeShallow(commits: readonly string[]): void {
    atomicWrite(path.join(this.gitdir, 'shallow'), [...new Set(commits)].map((c) => c + '\n').join(''));
  }

  /** Points `refs/heads/cronsync` (HEAD) at `commit` and records the fetch. */
  writeRecord(record: StoreRecord): void {
    atomicWrite(path.join(this.gitdir, 'refs', 'heads', 'cronsync'), record.commit + '\n');
    atomicWrite(path.join(this.gitdir, 'cronsync.json'), JSON.stringify(record) + '\n');
  }

  /** The last fetch recorded, or null. */
  readRecord(): StoreRecord | null {
    return readRecordOnly(this.gitdir);
  }
}

/** Reads the record of `gitdir` without opening its packs (the cheap no-change check). */
export function readRecordOnly(gitdir: string): StoreRecord | null {
  try {
    const r = JSON.parse(readFileSync(path.join(gitdir, 'cronsync.json'), 'utf8')) as StoreRecord;
    return typeof r.commit === 'string' && typeof r.sourceId === 'string' ? r : null;
  } catch {
    return null;
  }
}

function atomicWrite(file: string, data: Buffer | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameRetrySync(tmp, file);
}

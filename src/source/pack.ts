/**
 * Git packfiles in memory, with Node's native zlib and SHA-1: parse a received pack into
 * objects (resolving deltas), and write a pack plus its v2 index. isomorphic-git's own
 * `indexPack`/`readObject` hash in JavaScript and took ~6 s for 10,000 blobs; this takes ~0.1 s.
 */
import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';

/** Git object type. */
export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

/** A git object: its type and its content (without the `type size\0` header). */
export interface GitObject {
  type: ObjectType;
  data: Buffer;
}

const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const CODES: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** PackFormatError is a malformed pack, index or delta. */
export class PackFormatError extends Error {
  override readonly name = 'PackFormatError';
}

/** Returns the git object id of `type` with `data`. */
export function hashObject(type: ObjectType, data: Buffer): string {
  return createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex');
}

/** One entry of a pack as stored: where it starts and how to get its content. */
export interface PackEntry {
  offset: number;
  /** Offset just after the entry's compressed data. */
  end: number;
  /** 1-4 for whole objects, 6 ofs-delta, 7 ref-delta. */
  code: number;
  /** Inflated content, or the delta instructions. */
  raw: Buffer;
  baseOffset?: number;
  baseOid?: string;
}

/** Reads the entry at `offset` of `pack`. */
export function readEntry(pack: Buffer, offset: number): PackEntry {
  let pos = offset;
  let byte = at(pack, pos++);
  const code = (byte >> 4) & 7;
  let size = byte & 15;
  let shift = 4;
  while (byte & 0x80) {
    byte = at(pack, pos++);
    size += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  }
  const entry: Omit<PackEntry, 'raw' | 'end'> = { offset, code };
  if (code === 6) {
    byte = at(pack, pos++);
    let rel = byte & 0x7f;
    while (byte & 0x80) {
      byte = at(pack, pos++);
      rel = (rel + 1) * 128 + (byte & 0x7f);
    }
    entry.baseOffset = offset - rel;
  } else if (code === 7) {
    entry.baseOid = pack.subarray(pos, pos + 20).toString('hex');
    pos += 20;
  } else if (!TYPES[code]) {
    throw new PackFormatError(`bad object type ${code} at offset ${offset}`);
  }
  let res: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // One output chunk of the right size: the default 16 KiB chunk per object made 10k small
    // objects cost 160 MB of short-lived buffers.
    res = inflateSync(pack.subarray(pos), { info: true, chunkSize: Math.max(64, size + 32) }) as unknown as typeof res;
  } catch (err) {
    throw new PackFormatError(`bad zlib data at offset ${offset}: ${(err as Error).message}`);
  }
  if (res.buffer.length !== size) throw new PackFormatError(`object at offset ${offset} has the wrong size`);
  return { ...entry, raw: res.buffer, end: pos + res.engine.bytesWritten };
}

function at(buf: Buffer, pos: number): number {
  const b = buf[pos];
  if (b === undefined) throw new PackFormatError('truncated pack');
  return b;
}

/** Applies git delta `delta` to `base`. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let pos = 0;
  const varint = (): number => {
    let n = 0;
    let shift = 0;
    let b: number;
    do {
      b = at(delta, pos++);
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return n;
  };
  if (varint() !== base.length) throw new PackFormatError('delta base size mismatch');
  const out = Buffer.allocUnsafe(varint());
  let o = 0;
  while (pos < delta.length) {
    const op = at(delta, pos++);
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) off += at(delta, pos++) * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (16 << i)) len += at(delta, pos++) * 2 ** (8 * i);
      if (len === 0) len = 0x10000;
      if (off + len > base.length || o + len > out.length) throw new PackFormatError('delta copy out of range');
      base.copy(out, o, off, off + len);
      o += len;
    } else if (op > 0) {
      if (pos + op > delta.length || o + op > out.length) throw new PackFormatError('delta insert out of range');
      delta.copy(out, o, pos, pos + op);
      pos += op;
      o += op;
    } else {
      throw new PackFormatError('delta opcode 0');
    }
  }
  if (o !== out.length) throw new PackFormatError('delta result size mismatch');
  return out;
}

/** Checks a pack's header and trailing SHA-1; returns its object count. */
export function checkPack(pack: Buffer): number {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK') throw new PackFormatError('not a packfile');
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new PackFormatError(`unsupported pack version ${version}`);
  const sum = createHash('sha1').update(pack.subarray(0, pack.length - 20)).digest();
  if (!sum.equals(pack.subarray(pack.length - 20))) throw new PackFormatError('pack checksum mismatch');
  return pack.readUInt32BE(8);
}

/** An indexed object of a parsed pack. */
export interface IndexedObject {
  oid: string;
  offset: number;
  crc: number;
}

/**
 * Parses every object of `pack`, resolving deltas; `external` supplies bases of ref-deltas that
 * are not in the pack. Returns the objects by id and the index rows.
 */
export function parsePack(pack: Buffer, external: (oid: string) => GitObject | undefined): { objects: Map<string, GitObject>; index: IndexedObject[] } {
  const count = checkPack(pack);
  const entries: PackEntry[] = [];
  let pos = 12;
  for (let i = 0; i < count; i++) {
    const e = readEntry(pack, pos);
    entries.push(e);
    pos = e.end;
  }
  if (pos !== pack.length - 20) throw new PackFormatError('trailing data in pack');
  const byOffset = new Map<number, GitObject>();
  const objects = new Map<string, GitObject>();
  const oidAt = new Map<number, string>();
  const pending = new Map<number, PackEntry>();
  for (const e of entries) {
    const type = TYPES[e.code];
    if (type) {
      const obj = { type, data: e.raw };
      const oid = hashObject(type, e.raw);
      byOffset.set(e.offset, obj);
      oidAt.set(e.offset, oid);
      objects.set(oid, obj);
    } else pending.set(e.offset, e);
  }
  // Ofs-delta bases come earlier in the pack; a ref-delta base may come later, hence the passes.
  const resolve = (e: PackEntry, depth: number): GitObject | undefined => {
    const done = byOffset.get(e.offset);
    if (done) return done;
    if (depth > 10_000) throw new PackFormatError('delta chain too long');
    let base: GitObject | undefined;
    if (e.baseOffset !== undefined) {
      base = byOffset.get(e.baseOffset);
      const p = pending.get(e.baseOffset);
      if (!base && p) base = resolve(p, depth + 1);
    } else if (e.baseOid) base = objects.get(e.baseOid) ?? external(e.baseOid);
    if (!base) return undefined;
    const obj = { type: base.type, data: applyDelta(base.data, e.raw) };
    const oid = hashObject(obj.type, obj.data);
    byOffset.set(e.offset, obj);
    oidAt.set(e.offset, oid);
    objects.set(oid, obj);
    return obj;
  };
  while (pending.size > 0) {
    const before = pending.size;
    for (const [off, e] of pending) if (resolve(e, 0)) pending.delete(off);
    if (pending.size === before) throw new PackFormatError('missing delta base');
  }
  const index: IndexedObject[] = entries.map((e) => ({ oid: oidAt.get(e.offset) ?? '', offset: e.offset, crc: crc32(pack.subarray(e.offset, e.end)) }));
  return { objects, index };
}

/** Writes a pack of whole (undeltified) objects; returns the pack and its index rows. */
export function writePack(objects: Iterable<[string, GitObject]>): { pack: Buffer; index: IndexedObject[] } {
  const parts: Buffer[] = [];
  const index: IndexedObject[] = [];
  let offset = 12;
  for (const [oid, obj] of objects) {
    let size = obj.data.length;
    const head: number[] = [(CODES[obj.type] << 4) | (size & 15)];
    size = Math.floor(size / 16);
    while (size > 0) {
      head[head.length - 1] = (head[head.length - 1] ?? 0) | 0x80;
      head.push(size & 0x7f);
      size = Math.floor(size / 128);
    }
    const body = Buffer.concat([Buffer.from(head), deflateSync(obj.data, { level: 1 })]);
    index.push({ oid, offset, crc: crc32(body) });
    parts.push(body);
    offset += body.length;
  }
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(index.length, 8);
  const content = Buffer.concat([header, ...parts]);
  return { pack: Buffer.concat([content, createHash('sha1').update(content).digest()]), index };
}

/** Builds a version-2 `.idx` for `pack` from its index rows. */
export function writeIndex(pack: Buffer, rows: readonly IndexedObject[]): Buffer {
  const sorted = [...rows].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = sorted.length;
  const big = sorted.filter((r) => r.offset >= 0x80000000);
  const buf = Buffer.alloc(8 + 1024 + n * 28 + big.length * 8 + 40);
  buf.writeUInt32BE(0xff744f63, 0);
  buf.writeUInt32BE(2, 4);
  const fan = new Array<number>(256).fill(0);
  for (const r of sorted) fan[Number.parseInt(r.oid.slice(0, 2), 16)]! += 1;
  let acc = 0;
  for (let i = 0; i < 256; i++) {
    acc += fan[i] ?? 0;
    buf.writeUInt32BE(acc, 8 + i * 4);
  }
  let bigIdx = 0;
  sorted.forEach((r, i) => {
    buf.write(r.oid, 1032 + i * 20, 'hex');
    buf.writeUInt32BE(r.crc >>> 0, 1032 + n * 20 + i * 4);
    const offPos = 1032 + n * 24 + i * 4;
    if (r.offset >= 0x80000000) {
      buf.writeUInt32BE((0x80000000 | bigIdx) >>> 0, offPos);
      buf.writeBigUInt64BE(BigInt(r.offset), 1032 + n * 28 + bigIdx * 8);
      bigIdx++;
    } else buf.writeUInt32BE(r.offset, offPos);
  });
  const tail = 1032 + n * 28 + big.length * 8;
  pack.copy(buf, tail, pack.length - 20);
  createHash('sha1').update(buf.subarray(0, tail + 20)).digest().copy(buf, tail + 20);
  return buf;
}

/** Reads a version-2 `.idx`: object id → offset in the pack. */
export function readIndex(idx: Buffer): Map<string, number> {
  if (idx.length < 1072 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) throw new PackFormatError('not a v2 pack index');
  const n = idx.readUInt32BE(8 + 255 * 4);
  if (idx.length < 1032 + n * 28 + 40) throw new PackFormatError('truncated pack index');
  const map = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const oid = idx.toString('hex', 1032 + i * 20, 1052 + i * 20);
    let off = idx.readUInt32BE(1032 + n * 24 + i * 4);
    if (off & 0x80000000) off = Number(idx.readBigUInt64BE(1032 + n * 28 + (off & 0x7fffffff) * 8));
    map.set(oid, off);
  }
  return map;
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (zlib polynomial) of `buf`, as an unsigned number. */
export function crc32(buf: Buffer): number {
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = (CRC_TABLE[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

import { testTempDir } from '../system/tempdir.js';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyDelta, crc32, hashObject, parsePack, PackFormatError, readIndex, writeIndex, writePack } from '../../src/source/pack.js';
import type { GitObject } from '../../src/source/pack.js';
import { ObjectStore } from '../../src/source/store.js';

const blob = (s: string): [string, GitObject] => [hashObject('blob', Buffer.from(s)), { type: 'blob', data: Buffer.from(s) }];

describe('source/pack', () => {
  it('hashes like git', () => {
    expect(hashObject('blob', Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('round-trips objects through writePack, parsePack and the v2 index', () => {
    const objs = [blob('a'), blob('b'.repeat(5000)), blob('')];

    const { pack, index } = writePack(objs);
    const parsed = parsePack(pack, () => undefined);
    const idx = readIndex(writeIndex(pack, index));

    expect([...parsed.objects.keys()].sort()).toEqual(objs.map(([o]) => o).sort());
    expect(parsed.index).toEqual(index);
    expect(idx.get(objs[1]![0])).toBe(index[1]?.offset);
  });

  it('writes packs that git itself verifies', () => {
    const dir = testTempDir('cronsync-pack-');
    const { pack, index } = writePack([blob('x'), blob('y')]);
    writeFileSync(path.join(dir, 'p.pack'), pack);
    writeFileSync(path.join(dir, 'p.idx'), writeIndex(pack, index));

    const r = spawnSync('git', ['verify-pack', '-v', path.join(dir, 'p.idx')], { env: { PATH: process.env.PATH, GIT_CONFIG_GLOBAL: '/dev/null' } });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toContain(blob('x')[0]);
  });

  it('applies copy and insert delta instructions', () => {
    const base = Buffer.from('hello world');
    // base size 11, result size 9: copy offset 0 len 5, insert "!!!!"
    const delta = Buffer.from([11, 9, 0x90, 5, 4, 0x21, 0x21, 0x21, 0x21]);

    expect(applyDelta(base, delta).toString()).toBe('hello!!!!');
    expect(() => applyDelta(Buffer.from('x'), delta)).toThrow(PackFormatError);
  });

  it('rejects a corrupt pack', () => {
    const { pack } = writePack([blob('a')]);
    pack.writeUInt8(pack.readUInt8(pack.length - 1) ^ 0xff, pack.length - 1);

    expect(() => parsePack(pack, () => undefined)).toThrow('pack checksum mismatch');
  });

  it('store keeps packs readable and compacts them to one', () => {
    const dir = testTempDir('cronsync-store-');
    const store = ObjectStore.open(dir);
    for (const o of [blob('1'), blob('2'), blob('3')]) {
      const { pack, index } = writePack([o]);
      store.addPack(pack, index);
    }

    const reopened = ObjectStore.open(dir);
    reopened.compact([blob('3')], 'c'.repeat(40));

    expect(reopened.packCount).toBe(1);
    expect(ObjectStore.open(dir).read(blob('3')[0])?.data.toString()).toBe('3');
    expect(ObjectStore.open(dir).has(blob('1')[0])).toBe(false);
    expect(reopened.readShallow()).toEqual(['c'.repeat(40)]);
  });
});

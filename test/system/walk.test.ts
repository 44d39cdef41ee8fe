import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanManifestFiles } from '../../src/system/walk.js';
import { testTempDir } from './tempdir.js';

/** A temp dir with a.yaml, sub/b.yml, notes.txt, a symlinked and a FIFO manifest, and a symlink not named like one. */
function repo(): string {
  const dir = testTempDir('cronsync-walk-');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'a.yaml'), 'a: 1\n');
  writeFileSync(join(dir, 'sub/b.yml'), 'b: 1\n');
  writeFileSync(join(dir, 'notes.txt'), 'x\n');
  symlinkSync('a.yaml', join(dir, 'linked.yaml'));
  symlinkSync('a.yaml', join(dir, 'link.txt'));
  execFileSync('mkfifo', [join(dir, 'sub/pipe.yaml')]);
  return dir;
}

describe.skipIf(process.platform === 'win32')('system/walk', () => {
  it('returns the symlinks and FIFOs of a walked directory with the words the sources use, without opening them', async () => {
    const dir = repo();

    const res = await scanManifestFiles(['.'], dir);

    expect(res.errors).toEqual([]);
    expect(res.files.map((f) => [f.display, f.error])).toEqual([
      ['a.yaml', undefined],
      ['linked.yaml', 'symbolic link not followed'],
      ['sub/b.yml', undefined],
      ['sub/pipe.yaml', 'not a regular file'],
    ]);
  });

  it('reports a path that does not exist and still walks the others', async () => {
    const dir = repo();

    const res = await scanManifestFiles(['missing.yaml', 'sub'], dir);

    expect(res.errors.map((e) => [e.code, e.message])).toEqual([['CRONSYNC_IO', 'cannot read missing.yaml: no such file or directory']]);
    expect(res.files.map((f) => f.display)).toEqual(['sub/b.yml', 'sub/pipe.yaml']);
  });

  it.skipIf(process.getuid?.() === 0)('reports a directory that cannot be read and still walks its siblings', async () => {
    const dir = repo();
    mkdirSync(join(dir, 'locked'));
    chmodSync(join(dir, 'locked'), 0o000);

    const res = await scanManifestFiles(['.'], dir);
    chmodSync(join(dir, 'locked'), 0o700);

    expect(res.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^cannot read directory locked: /)]);
    expect(res.files.map((f) => f.display)).toContain('sub/b.yml');
  });
});

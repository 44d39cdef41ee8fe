import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanManifestFiles, SYMLINK_DIR_REFUSED } from '../../src/system/walk.js';
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

  // `npx cronsync lint .` in a manifest repository: CI configs and hooks are no manifests, and
  // the agent's default selection `**/*.{yaml,yml}` (dot: false) never reads them.
  it('skips dot-files, dot-directories and node_modules below a walked directory, but takes a dot-file named explicitly', async () => {
    const dir = testTempDir('cronsync-walk-');
    for (const rel of ['a.yaml', '.gitlab-ci.yml', '.pre-commit-config.yaml', '.github/workflows/ci.yml', 'team/.hidden.yaml', 'team/b.yaml', '.cronsync/x.yaml', 'node_modules/pkg/c.yaml', 'team/node_modules/d.yaml']) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), 'x: 1\n');
    }
    symlinkSync(join(dir, 'team'), join(dir, '.linked'));

    const walked = await scanManifestFiles(['.'], dir);
    const named = await scanManifestFiles(['.gitlab-ci.yml', '.github/workflows', 'team'], dir);

    expect(walked.errors).toEqual([]);
    expect(walked.files.map((f) => [f.display, f.error])).toEqual([['a.yaml', undefined], ['team/b.yaml', undefined]]);
    expect(named.files.map((f) => f.display)).toEqual(['.github/workflows/ci.yml', '.gitlab-ci.yml', 'team/b.yaml']);
  });

  // Skipped without a word, the manifests under it went unlinted, while the agent's source
  // refuses it: they would look deleted to a sync.
  it('returns a symlink to a directory, or to nothing, as an error at its path, and skips one to a file', async () => {
    const dir = repo();
    mkdirSync(join(dir, 'real2'));
    writeFileSync(join(dir, 'real2/x.yaml'), 'x: 1\n');
    symlinkSync('real2', join(dir, 'real'));
    symlinkSync('../real2', join(dir, 'sub/deeper'));
    symlinkSync('real2', join(dir, 'dir.yaml'));
    symlinkSync('missing', join(dir, 'dangling'));

    const res = await scanManifestFiles(['.'], dir);

    expect(res.errors).toEqual([]);
    expect(res.files.map((f) => [f.display, f.error])).toEqual([
      ['a.yaml', undefined],
      ['dangling', 'symbolic link not followed: it leads nowhere, and may be a directory whose manifests are not read'],
      ['dir.yaml', SYMLINK_DIR_REFUSED],
      ['linked.yaml', 'symbolic link not followed'],
      ['real', SYMLINK_DIR_REFUSED],
      ['real2/x.yaml', undefined],
      ['sub/b.yml', undefined],
      ['sub/deeper', SYMLINK_DIR_REFUSED],
      ['sub/pipe.yaml', 'not a regular file'],
    ]);
    expect(SYMLINK_DIR_REFUSED).toBe('symbolic link not followed: it leads to a directory, and no manifest under it is read');
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

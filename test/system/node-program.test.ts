/**
 * The node binary entries name (src/system/node-program.ts): the path node was started by when
 * it is this binary through a trusted symlink, else the real path. Real symlinks in a temp dir.
 */
import { chmodSync, lstatSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startedNodePath } from '../../src/system/node-program.js';
import type { NodePathFs } from '../../src/system/node-program.js';
import { testTempDir } from './tempdir.js';

const uid = process.geteuid?.() ?? 0;

describe.skipIf(process.platform === 'win32')('system/node-program: startedNodePath', () => {
  function layout(): { dir: string; real: string; link: string; other: string } {
    const dir = testTempDir('cronsync-node-program-');
    mkdirSync(join(dir, 'node-v20.18.1', 'bin'), { recursive: true });
    writeFileSync(join(dir, 'node-v20.18.1', 'bin', 'node'), '#!/bin/sh\n', { mode: 0o755 });
    // As process.execPath is: the real path.
    const real = realpathSync(join(dir, 'node-v20.18.1', 'bin', 'node'));
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'elsewhere'));
    const link = join(dir, 'bin', 'node');
    symlinkSync(real, link);
    const other = join(dir, 'elsewhere', 'node');
    writeFileSync(other, '#!/bin/sh\n', { mode: 0o755 });
    return { dir, real, link, other };
  }

  it('an absolute argv0 that is this binary through a symlink is kept; any other absolute one is not', () => {
    const { dir, real, link, other } = layout();
    expect(startedNodePath(link, real, undefined, uid)).toBe(link);
    expect(startedNodePath(real, real, undefined, uid)).toBe(real);
    expect(startedNodePath(other, real, undefined, uid)).toBe(real);
    expect(startedNodePath(join(dir, 'bin', 'missing'), real, undefined, uid)).toBe(real);
  });

  it('a bare argv0 is looked up on PATH as a shell would: the first directory holding it decides', () => {
    const { dir, real, link } = layout();
    const bin = join(dir, 'bin');
    const elsewhere = join(dir, 'elsewhere');
    expect(startedNodePath('node', real, ['relative/bin', join(dir, 'empty'), bin, elsewhere].join(':'), uid)).toBe(link);
    // Another node comes first: it is not this one, so the real path.
    expect(startedNodePath('node', real, [elsewhere, bin].join(':'), uid)).toBe(real);
    expect(startedNodePath('node', real, undefined, uid)).toBe(real);
    expect(startedNodePath('node', real, '', uid)).toBe(real);
  });

  it('the binary reached through a symlinked directory only (/bin/node on a merged /usr) is named by its real path', () => {
    const { dir, real } = layout();
    symlinkSync(join(dir, 'node-v20.18.1', 'bin'), join(dir, 'merged'));
    expect(realpathSync(join(dir, 'merged', 'node'))).toBe(real);
    expect(startedNodePath(join(dir, 'merged', 'node'), real, undefined, uid)).toBe(real);
    expect(startedNodePath('node', real, join(dir, 'merged'), uid)).toBe(real);
  });

  it('a link that someone else could repoint is not named: in a directory others can write, or owned by another user', () => {
    const { dir, real } = layout();
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    symlinkSync(real, join(open, 'node'));
    const sticky = join(dir, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    symlinkSync(real, join(sticky, 'node'));
    // A chain: a trusted link to a link in the open directory.
    symlinkSync(join(open, 'node'), join(dir, 'bin', 'chain'));
    const otherOwner: NodePathFs = {
      realpath: (p) => realpathSync(p), readlink: () => real, stat: (p) => lstatSync(p),
      lstat: (p) => {
        const st = lstatSync(p);
        return st.isSymbolicLink() ? { isSymbolicLink: () => true, uid: uid + 4242, mode: st.mode } : st;
      },
    };

    expect(startedNodePath(join(open, 'node'), real, undefined, uid)).toBe(real);
    expect(startedNodePath(join(sticky, 'node'), real, undefined, uid)).toBe(join(sticky, 'node'));
    expect(startedNodePath(join(dir, 'bin', 'chain'), real, undefined, uid)).toBe(real);
    expect(startedNodePath(join(dir, 'bin', 'node'), real, undefined, uid, otherOwner)).toBe(real);
  });

  it('a relative argv0 with a directory, or none at all, gives the real path', () => {
    const { real } = layout();
    expect(startedNodePath('./bin/node', real, undefined, uid)).toBe(real);
    expect(startedNodePath('', real, '/usr/bin', uid)).toBe(real);
  });
});

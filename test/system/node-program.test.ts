/**
 * The node binary entries name (src/system/node-program.ts): the path node was started by when
 * it is this binary through symlinks, else the real path. Real symlinks in a temp dir.
 */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startedNodePath } from '../../src/system/node-program.js';
import { testTempDir } from './tempdir.js';

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
    expect(startedNodePath(link, real, undefined)).toBe(link);
    expect(startedNodePath(real, real, undefined)).toBe(real);
    expect(startedNodePath(other, real, undefined)).toBe(real);
    expect(startedNodePath(join(dir, 'bin', 'missing'), real, undefined)).toBe(real);
  });

  it('a bare argv0 is looked up on PATH as a shell would: the first directory holding it decides', () => {
    const { dir, real, link } = layout();
    const bin = join(dir, 'bin');
    const elsewhere = join(dir, 'elsewhere');
    expect(startedNodePath('node', real, ['relative/bin', join(dir, 'empty'), bin, elsewhere].join(':'))).toBe(link);
    // Another node comes first: it is not this one, so the real path.
    expect(startedNodePath('node', real, [elsewhere, bin].join(':'))).toBe(real);
    expect(startedNodePath('node', real, undefined)).toBe(real);
    expect(startedNodePath('node', real, '')).toBe(real);
  });

  it('a relative argv0 with a directory, or none at all, gives the real path', () => {
    const { real } = layout();
    expect(startedNodePath('./bin/node', real, undefined)).toBe(real);
    expect(startedNodePath('', real, '/usr/bin')).toBe(real);
  });
});

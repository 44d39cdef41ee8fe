/** The synchronous state-dir I/O of `cronsync exec`: random ids without node:crypto, atomic writes. */
import { testTempDir } from '../system/tempdir.js';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { describe, expect, it, onTestFinished } from 'vitest';

import { randomBytesSync, randomHex, randomUuid, readFileOrNullSync, removeFileSync, writeFileAtomicSync } from '../../src/state/sync-io.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('state/sync-io', () => {
  it('makes RFC 4122 version 4 UUIDs, all different, with every free bit used', () => {
    const ids = Array.from({ length: 2000 }, () => randomUuid());
    for (const id of ids) expect(id).toMatch(V4);
    expect(new Set(ids).size).toBe(ids.length);
    // Each of the 122 random bits is set in some id and clear in another.
    const hex = ids.map((id) => id.replace(/-/g, ''));
    for (let i = 0; i < 32; i++) {
      if (i === 12) continue; // the version nibble
      const digits = new Set(hex.map((h) => h[i]));
      expect(digits.size, `hex digit ${i}`).toBeGreaterThan(i === 16 ? 3 : 15);
    }
  });

  it('reads random bytes from /dev/urandom, or from Web Crypto where it is missing', () => {
    expect(randomBytesSync(32)).toHaveLength(32);
    expect(randomBytesSync(32).equals(randomBytesSync(32))).toBe(false);
    const fallback = randomBytesSync(24, '/nonexistent/urandom');
    expect(fallback).toHaveLength(24);
    expect(fallback.equals(randomBytesSync(24, '/nonexistent/urandom'))).toBe(false);
    expect(randomHex(4)).toMatch(/^[0-9a-f]{8}$/);
  });

  it('writes atomically with the exact mode, creating directories, and leaves no temp file', () => {
    const dir = testTempDir('cronsync-syncio-');
    const path = join(dir, 'a/b/c.json');
    writeFileAtomicSync(path, '{"x":1}', 0o600, false);
    writeFileAtomicSync(path, '{"x":2}', 0o644, true);
    expect(readFileSync(path, 'utf8')).toBe('{"x":2}');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'a/b'))).toEqual(['c.json']);
    expect(readFileOrNullSync(path)).toBe('{"x":2}');
    expect(removeFileSync(path)).toBe(true);
    expect(removeFileSync(path)).toBe(false);
    expect(readFileOrNullSync(path)).toBeNull();
    writeFileSync(join(dir, 'file'), '');
    expect(() => writeFileAtomicSync(join(dir, 'file/x.json'), '', 0o600)).toThrow(/Cannot write/);
  });

  it.skipIf(process.platform === 'win32')('reads only regular files: a FIFO or a directory in a state file\'s place is an error naming it, never waited on', () => {
    const dir = testTempDir('cronsync-syncio-');
    const fifo = join(dir, 'sources.json');
    execFileSync('mkfifo', [fifo]);
    // A writer that would hand a reader blocked on the FIFO valid text: the read must not take it.
    const writer = spawn('sh', ['-c', 'printf %s "{}" > "$FIFO"'], { env: { FIFO: fifo }, stdio: 'ignore' });
    onTestFinished(() => void writer.kill('SIGKILL'));
    mkdirSync(join(dir, 'jobs.batch.json'));

    expect(() => readFileOrNullSync(fifo)).toThrow(`Cannot read ${fifo}: not a regular file (a FIFO)`);
    expect(() => readFileOrNullSync(join(dir, 'jobs.batch.json'))).toThrow(/not a regular file \(a directory\)/);
  });
});

describe('state/sync-io random source', () => {
  it('never takes bytes from a source that is not a character device (a plain file in a chroot)', () => {
    const file = join(testTempDir('cronsync-rand-'), 'urandom');
    writeFileSync(file, Buffer.alloc(64));

    const a = randomBytesSync(16, file);
    const b = randomBytesSync(16, file);

    expect(a.equals(Buffer.alloc(16))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });
});

describe('state/sync-io short writes', () => {
  // Under `ulimit -f 2` (2 KiB) write(2) stores what fits and returns a short count, as on a
  // nearly full disk; the next write fails (EFBIG; Node ignores SIGXFSZ). A short write must
  // never be renamed over the good file.
  it.skipIf(process.platform === 'win32')('fails instead of renaming a truncated file into place (sync-io and system/files)', () => {
    const dir = testTempDir('cronsync-short-');
    const script = join(dir, 'probe.mjs');
    buildSync({
      stdin: {
        contents: `import { writeFileAtomicSync } from './src/state/sync-io.ts';
import { atomicWriteFile } from './src/system/files.ts';
const [, , target, which] = process.argv;
try {
  await (which === 'files' ? (p, d, m) => atomicWriteFile(p, d, m, { fsync: false }) : (p, d, m) => writeFileAtomicSync(p, d, m, false))(target, 'x'.repeat(3000), 0o600);
  console.log('written');
} catch (err) { console.log('error', err.code); }`,
        resolveDir: fileURLToPath(new URL('../..', import.meta.url)), loader: 'ts',
      },
      bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: script, logLevel: 'error',
    });
    for (const which of ['sync-io', 'files']) {
      const target = join(dir, `${which}.json`);
      writeFileSync(target, '{"good":true}');

      const r = spawnSync('/bin/sh', ['-c', 'ulimit -f 2 && exec "$0" "$@"', process.execPath, script, target, which], { encoding: 'utf8' });

      expect(r.stdout.trim(), which).toBe('error CRONSYNC_IO');
      expect(readFileSync(target, 'utf8'), which).toBe('{"good":true}');
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp')), which).toEqual([]);
    }
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/source/auth.js';
import { IoError } from '../../src/errors.js';
import { makeDirSync, readRegularFileSync } from '../../src/system/regular-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cronsync-regular-'));
  dirs.push(d);
  return d;
}

describe.skipIf(process.platform === 'win32')('system/regular-file', () => {
  it('reads a regular file, checked on the open file, up to one byte past maxBytes', () => {
    const d = dir();
    writeFileSync(join(d, 'f'), 'x'.repeat(100));
    const seen: number[] = [];

    expect(readRegularFileSync(join(d, 'f'), { check: (st) => void seen.push(st.size) }).data.toString()).toBe('x'.repeat(100));
    expect(seen).toEqual([100]);
    expect(readRegularFileSync(join(d, 'f'), { maxBytes: 10 }).data.length).toBe(11);
    expect(() => readRegularFileSync(join(d, 'f'), { check: () => { throw new Error('refused'); } })).toThrow('refused');
    expect(() => readRegularFileSync(join(d, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('makeDirSync creates missing components with the mode, leaves existing ones, and is idempotent', () => {
    const d = dir();
    const deep = join(d, 'a', 'b', 'c');

    makeDirSync(deep, 0o700);
    makeDirSync(deep, 0o755);
    makeDirSync(d);

    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(join(d, 'a')).mode & 0o777).toBe(0o700);
    expect(statSync(deep).mode & 0o777).toBe(0o700);
  });

  it('makeDirSync fails with an IoError naming the directory when a component is a file', () => {
    const d = dir();
    writeFileSync(join(d, 'file'), '');

    expect(() => makeDirSync(join(d, 'file', 'sub'))).toThrow(IoError);
    expect(() => makeDirSync(join(d, 'file'))).toThrow(`Cannot create directory ${join(d, 'file')}: ${join(d, 'file')} is a file`);
  });

  // Node 20's recursive mkdir never returns there; the timeout turns a regression into a failure.
  it.skipIf(!existsSync('/proc/1'))('makeDirSync fails at once under a directory that refuses new entries (/proc/1/nope)', { timeout: 5_000 }, () => {
    let err: unknown;
    try {
      makeDirSync('/proc/1/nope/state');
    } catch (e) {
      err = e;
    }

    expect(err).toBeInstanceOf(IoError);
    expect((err as Error).message).toMatch(/^Cannot create directory \/proc\/1\/nope\/state \(at \/proc\/1\/nope\): /);
    expect(existsSync('/proc/1/nope')).toBe(false);
  });

  it('refuses a FIFO, a directory and a device by kind, without blocking or reading', () => {
    const d = dir();
    execFileSync('mkfifo', [join(d, 'fifo')]);

    expect(() => readRegularFileSync(join(d, 'fifo'))).toThrow(expect.objectContaining({ code: 'ENOTREG', message: 'not a regular file (a FIFO)' }));
    expect(() => readRegularFileSync(d)).toThrow(expect.objectContaining({ code: 'ENOTREG', message: 'not a regular file (a directory)' }));
    expect(() => readRegularFileSync('/dev/zero')).toThrow(expect.objectContaining({ code: 'ENOTREG', message: 'not a regular file (a character device)' }));
  }, 10_000);

  it('a FIFO as source.auth.passwordFile is a clear source error, not a hang', () => {
    const d = dir();
    execFileSync('mkfifo', [join(d, 'pw')]);

    expect(() => resolveCredentials({ url: 'https://git.example/r.git', auth: { username: 'u', passwordFile: join(d, 'pw') } } as never, {}))
      .toThrow(/cannot read source\.auth\.passwordFile .*: ENOTREG/);
  }, 10_000);
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/source/auth.js';
import { readRegularFileSync } from '../../src/system/regular-file.js';

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

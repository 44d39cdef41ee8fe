/**
 * The state dir's atomic writes go through the retrying rename: a Windows rename refused while a
 * reader holds the target open (EPERM) is retried, not turned into a failed write. node:fs is
 * mocked so that renameSync refuses the first two attempts, as Windows does while
 * `cronsync status` has status.json open.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type * as NodeFs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const refusals = vi.hoisted(() => ({ left: 0, seen: 0 }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof NodeFs>();
  return {
    ...fs,
    renameSync: (from: string, to: string) => {
      if (refusals.left > 0) {
        refusals.left--;
        refusals.seen++;
        throw Object.assign(new Error(`EPERM: operation not permitted, rename '${from}' -> '${to}'`), { code: 'EPERM' });
      }
      fs.renameSync(from, to);
    },
  };
});

const { writeFileAtomicSync } = await import('../../src/state/sync-io.js');
const { createPosixPlatform } = await import('../../src/system/platform.js');
const { tempStateDir, removeTempStateDirs } = await import('../shim/fixtures.js');

afterEach(() => {
  removeTempStateDirs();
  refusals.left = 0;
  refusals.seen = 0;
});

describe('state/sync-io on a Windows-like rename', () => {
  it('writeFileAtomicSync retries a rename refused while the target is open, on a win32 platform', () => {
    const dir = tempStateDir();
    const file = join(dir, 'status.json');
    const win = { ...createPosixPlatform(), kind: 'win32' as const };
    refusals.left = 2;

    writeFileAtomicSync(file, '{"ok":true}', 0o600, false, win);

    expect(refusals.seen).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('{"ok":true}');
  });

  it('fails at once on POSIX, where such a refusal is not transient, and leaves no temp file', () => {
    const dir = tempStateDir();
    refusals.left = 1;

    expect(() => writeFileAtomicSync(join(dir, 'status.json'), 'x', 0o600, false, createPosixPlatform())).toThrow(/status\.json/);
    expect(refusals.seen).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });
});

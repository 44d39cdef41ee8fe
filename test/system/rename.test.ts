import { describe, expect, it } from 'vitest';
import { RENAME_RETRY_DELAYS_MS, renameRetry, renameRetrySync } from '../../src/system/rename.js';

/** A rename that fails with `code` for the first `fails` calls, then succeeds; records calls and sleeps. */
function flaky(fails: number, code = 'EPERM') {
  const calls: string[][] = [];
  const slept: number[] = [];
  const attempt = (from: string, to: string): void => {
    calls.push([from, to]);
    if (calls.length <= fails) throw Object.assign(new Error(`${code}: operation not permitted, rename '${from}' -> '${to}'`), { code });
  };
  return {
    calls, slept,
    sync: { renameSync: attempt, sleepSync: (ms: number) => void slept.push(ms) },
    async: { rename: async (f: string, t: string) => attempt(f, t), sleep: async (ms: number) => void slept.push(ms) },
  };
}

describe('system/rename', () => {
  it.each(['EPERM', 'EACCES', 'EBUSY'])('on Windows, retries a rename refused with %s while the target is held open, with growing delays', async (code) => {
    const s = flaky(3, code);
    const a = flaky(3, code);

    renameRetrySync('t.tmp', 'status.json', { win: true, ...s.sync });
    await renameRetry('t.tmp', 'status.json', { win: true, ...a.async });

    expect(s.calls).toHaveLength(4);
    expect(s.slept).toEqual([10, 20, 40]);
    expect(a.calls).toHaveLength(4);
    expect(a.slept).toEqual([10, 20, 40]);
  });

  it('gives up after about 5 s and throws the last error', async () => {
    const s = flaky(1000);
    const a = flaky(1000);

    expect(() => renameRetrySync('t.tmp', 'status.json', { win: true, ...s.sync })).toThrow(/EPERM/);
    await expect(renameRetry('t.tmp', 'status.json', { win: true, ...a.async })).rejects.toMatchObject({ code: 'EPERM' });

    expect(s.calls).toHaveLength(RENAME_RETRY_DELAYS_MS.length + 1);
    const total = s.slept.reduce((x, y) => x + y, 0);
    expect(total).toBeGreaterThanOrEqual(4000);
    expect(total).toBeLessThanOrEqual(6000);
    expect(a.calls).toHaveLength(RENAME_RETRY_DELAYS_MS.length + 1);
  });

  it('never retries on POSIX, nor another error on Windows', async () => {
    const posix = flaky(1);
    const other = flaky(1, 'ENOSPC');

    expect(() => renameRetrySync('a', 'b', { win: false, ...posix.sync })).toThrow(/EPERM/);
    await expect(renameRetry('a', 'b', { win: true, ...other.async })).rejects.toMatchObject({ code: 'ENOSPC' });

    expect(posix.calls).toHaveLength(1);
    expect(other.calls).toHaveLength(1);
    expect([...posix.slept, ...other.slept]).toEqual([]);
  });
});

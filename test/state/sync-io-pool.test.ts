/** Random bytes of `cronsync exec` come from one read of /dev/urandom per pool, not one open per id. */
import * as fs from 'node:fs';
import type * as FsModule from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof FsModule>();
  return { ...real, openSync: vi.fn(real.openSync) };
});

const { randomBytesSync, randomHex, randomUuid } = await import('../../src/state/sync-io.js');

const urandomOpens = (): number => vi.mocked(fs.openSync).mock.calls.filter(([p]) => p === '/dev/urandom').length;

describe('state/sync-io random pool', () => {
  it('opens /dev/urandom once for a run\'s id and temp names, and hands out every byte once', () => {
    randomBytesSync(1); // whatever an earlier test left in the pool
    const before = urandomOpens();
    const id = randomUuid();
    const names = Array.from({ length: 6 }, () => randomHex(6));
    expect(urandomOpens() - before).toBeLessThanOrEqual(1);
    expect(new Set([id, ...names]).size).toBe(7);
  });

  it('refills when used up, and never repeats a draw', () => {
    const before = urandomOpens();
    const draws = Array.from({ length: 200 }, () => randomBytesSync(16).toString('hex'));
    expect(new Set(draws).size).toBe(200);
    // 3,200 bytes: at least 12 refills of 256, each one open.
    expect(urandomOpens() - before).toBeGreaterThanOrEqual(12);
    expect(urandomOpens() - before).toBeLessThanOrEqual(14);
  });

  it('reads a large request, and an explicit source, directly', () => {
    const before = urandomOpens();
    expect(randomBytesSync(1000)).toHaveLength(1000);
    expect(randomBytesSync(8, '/dev/urandom')).toHaveLength(8);
    expect(urandomOpens() - before).toBe(2);
  });
});

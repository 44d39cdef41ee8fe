/**
 * The hook `cronsync sync` runs between the fetch and the parse (src/cli/commands/sync-run.ts):
 * a large workload gets V8's speed back, a small one a full GC. The heap module is replaced by
 * recorders (V8 flags and GCs are process-wide; tests/system/heap-flags.test.ts checks them).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const calls: string[] = [];

vi.mock('../../src/system/heap.js', () => ({
  speedForWorkload: (count: number) => {
    calls.push(`speedForWorkload(${count})`);
    return count >= 1000;
  },
  collectGarbage: () => calls.push('collectGarbage'),
}));

const { afterFetch } = await import('../../src/cli/commands/sync-run.js');
const files = (n: number) => ({ files: Array.from({ length: n }, (_, i) => ({ path: `f${i}.yaml` })) }) as unknown as Parameters<typeof afterFetch>[0];

describe('cli/commands/sync-run afterFetch', () => {
  beforeEach(() => {
    calls.length = 0;
  });

  it('collects the garbage of a small workload before its manifests are parsed', () => {
    afterFetch(files(100));

    expect(calls).toEqual(['speedForWorkload(100)', 'collectGarbage']);
  });

  it('only prefers speed for a large workload', () => {
    afterFetch(files(1000));

    expect(calls).toEqual(['speedForWorkload(1000)']);
  });
});

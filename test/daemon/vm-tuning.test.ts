import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { SPEED_FROM_JOBS, createVmTuner } from '../../src/daemon/vm-tuning.js';
import type { SyncFacts } from '../../src/daemon/vm-tuning.js';
import { collectGarbage } from '../../src/system/heap.js';

function tuner() {
  const calls: string[] = [];
  const t = createVmTuner({ preferSpeed: () => calls.push('speed'), collectGarbage: () => calls.push('gc') });
  const after = (f: Partial<SyncFacts>) => t.afterSync({ jobs: 5, sourceChanged: false, changes: false, ...f });
  return { calls, after };
}

describe('daemon/vm-tuning', () => {
  it('collects garbage after a sync that read a changed source or changed entries, not after an unchanged one', () => {
    const { calls, after } = tuner();
    after({ sourceChanged: true, changes: true }); // the first sync
    expect(calls).toEqual(['gc']);
    after({});
    after({});
    expect(calls).toEqual(['gc']);
    after({ sourceChanged: true });
    after({ changes: true });
    expect(calls).toEqual(['gc', 'gc', 'gc']);
  });

  it('switches V8 back to speed once, when the agent reaches SPEED_FROM_JOBS jobs', () => {
    const { calls, after } = tuner();
    after({ jobs: SPEED_FROM_JOBS - 1 });
    expect(calls).toEqual([]);
    after({ jobs: SPEED_FROM_JOBS });
    after({ jobs: SPEED_FROM_JOBS + 5 });
    after({ jobs: 3 });
    expect(calls).toEqual(['speed']);
  });
});

describe('daemon/vm-tuning listed', () => {
  it('switches to speed when a source lists SPEED_FROM_JOBS files, before the first sync ends, and only once', () => {
    const calls: string[] = [];
    const t = createVmTuner({ preferSpeed: () => calls.push('speed'), collectGarbage: () => calls.push('gc') });
    t.listed(SPEED_FROM_JOBS - 1);
    expect(calls).toEqual([]);
    t.listed(SPEED_FROM_JOBS);
    expect(calls).toEqual(['speed']);
    t.afterSync({ jobs: SPEED_FROM_JOBS * 2, sourceChanged: true, changes: true });
    expect(calls).toEqual(['speed', 'gc']);
  });
});

describe('system/heap collectGarbage', () => {
  it('runs a full GC (an unreachable object is gone) and leaves gc unexposed to later contexts', async () => {
    let target: object | null = { big: new Array(1000).fill(1) };
    const ref = new WeakRef(target);
    target = null;
    // A WeakRef keeps its target alive until the end of the job that created or read it.
    await new Promise((r) => setImmediate(r));
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
    collectGarbage(); // a second call works as the first
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});

import { describe, expect, it } from 'vitest';
import { createInProcessSlot } from '../../src/daemon/in-process.js';
import type { InProcessAdapter } from '../../src/daemon/in-process.js';

/** An in-process adapter whose runs in flight the test settles by hand. */
function fakeScheduler(name: string) {
  const runs = new Set<Promise<void>>();
  const events: string[] = [];
  const adapter: InProcessAdapter = {
    kind: 'embedded',
    inventory: async () => [],
    render: () => ({ kind: 'embedded', files: [] }),
    renderEntry: () => '',
    apply: async () => ({ changed: false, written: [] }),
    start: async () => (events.push(`${name} start`), 0),
    stop: () => void events.push(`${name} stop`),
    running: () => [...runs],
  };
  const launch = (): (() => void) => {
    let done = (): void => undefined;
    const run = new Promise<void>((r) => (done = r)).then(() => void runs.delete(run));
    runs.add(run);
    return done;
  };
  return { adapter, events, launch };
}

describe('daemon/in-process', () => {
  it('a reload to another source keeps the running scheduler until commit; a stop then waits for the replaced one\'s runs too', async () => {
    const slot = createInProcessSlot();
    const a = fakeScheduler('a');
    const b = fakeScheduler('b');
    slot.adapterFor('src1', () => a.adapter);
    slot.commit();
    const finishOld = a.launch();

    const same = slot.adapterFor('src1', () => { throw new Error('not built again'); });
    slot.adapterFor('src2', () => b.adapter);
    const beforeCommit = [...a.events, ...b.events];
    slot.commit();
    const finishNew = b.launch();
    slot.stop();
    const inFlight = slot.running();
    finishOld();
    finishNew();
    await Promise.all(inFlight);

    expect(same).toBe(a.adapter);
    expect(beforeCommit).toEqual(['a start']);
    expect(a.events).toEqual(['a start', 'a stop']);
    expect(b.events).toEqual(['b start', 'b stop']);
    expect(inFlight).toHaveLength(2);
    expect(slot.running()).toEqual([]);
  });

  it('a failed reload discards the scheduler built for it; the running one stays', () => {
    const slot = createInProcessSlot();
    const a = fakeScheduler('a');
    const b = fakeScheduler('b');
    slot.adapterFor('src1', () => a.adapter);
    slot.commit();

    slot.adapterFor('src2', () => b.adapter);
    slot.discard();
    slot.commit();

    expect(slot.active()).toBe(true);
    expect(a.events).toEqual(['a start']);
    expect(b.events).toEqual([]);
  });
});

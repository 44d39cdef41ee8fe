/** The status file's `checkins` counts when the spool cannot be counted: the last counts, and a warning saying why. */
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { agentConfig } from './fixtures.js';

const JOB = 'apiVersion: v1\nkind: Job\nmetadata: { name: a, tenant: acme }\nspec: { schedule: "0 2 * * *", command: "true" }\n';

describe('reconcile: check-in counts', () => {
  it('keeps the last counts when the spool cannot be counted, and warns with the reason', async () => {
    const warnings: Array<[object, string | undefined]> = [];
    const noop = () => undefined;
    const log: Logger = { debug: noop, info: noop, error: noop, warn: (obj: object | string, msg?: string) => void warnings.push([typeof obj === 'string' ? {} : obj, typeof obj === 'string' ? obj : msg]), child: () => log };
    const state = new MemoryStateStore();
    const answers: Array<() => Promise<{ spooled: number; dropped: number }>> = [
      async () => ({ spooled: 2, dropped: 5 }),
      () => Promise.reject(new Error('Cannot read /var/lib/cronsync/spool-dropped.count: it is damaged')),
    ];
    let call = 0;
    const rec = createReconciler({
      config: agentConfig(state.dir), source: new MemorySource({ 'a.yaml': JOB }), adapter: new MemoryScheduler('src1'),
      scheduler: { kind: 'cron.d', reason: 'test' }, clock: new FakeClock(), log, state,
      checkinStats: () => answers[Math.min(call++, answers.length - 1)]!(),
    });

    const first = await rec.reconcile();
    const second = await rec.reconcile();

    expect(first.status.checkins).toEqual({ spooled: 2, dropped: 5 });
    expect(second.status.checkins).toEqual({ spooled: 2, dropped: 5 });
    expect(warnings).toEqual([[{ err: { message: 'Cannot read /var/lib/cronsync/spool-dropped.count: it is damaged' } }, 'Cannot count the spooled and dropped check-ins; the status keeps the last counts']]);
  });
});

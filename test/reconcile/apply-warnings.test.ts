import { describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import type { Plan } from '../../src/plan/types.js';
import type { ApplyResult } from '../../src/scheduler/types.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { agentConfig } from './fixtures.js';
import { nullLogger } from '../../src/log.js';

const JOB = 'apiVersion: v1\nkind: Job\nmetadata: { name: a, tenant: acme-corp }\nspec: { schedule: "0 2 * * *", command: "true" }\n';

/** A scheduler whose apply reports a warning, as the systemd adapter does when lingering is off. */
class WarningScheduler extends MemoryScheduler {
  override async apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult> {
    return { ...(await super.apply(plan, signal)), warnings: ['lingering is off for alice: its timers stop at logout'] };
  }
}

describe('reconcile: warnings of an apply', () => {
  it('are status problems (rule scheduler, severity warning); the sync still applies', async () => {
    const state = new MemoryStateStore();
    const config = agentConfig(state.dir, { agent: { name: 'host1', tenant: 'acme-corp', labels: {} }, scheduler: { kind: 'embedded', cronDir: '/x', unitDir: '/x', taskFolder: '\\x' } });
    const rec = createReconciler({ config, source: new MemorySource({ 'a.yaml': JOB }), adapter: new WarningScheduler('src1'), scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state });

    const res = await rec.reconcile();

    expect(res.status.problems).toContainEqual({ path: '', line: 0, column: 0, rule: 'scheduler', severity: 'warning', message: 'lingering is off for alice: its timers stop at logout' });
    expect(res.status.jobs.map((j) => [j.id, j.state])).toEqual([['acme-corp/a', 'installed']]);
  });
});

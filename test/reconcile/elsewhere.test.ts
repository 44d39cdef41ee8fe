import { describe, expect, it } from 'vitest';
import type { JobId } from '../../src/manifest/types.js';
import { nullLogger } from '../../src/log.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import type { Elsewhere } from '../../src/scheduler/elsewhere.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { agentConfig } from './fixtures.js';

const JOB = 'apiVersion: v1\nkind: Job\nmetadata: { name: a, tenant: acme }\nspec: { schedule: "0 2 * * *", command: "true" }\n';

const left = (...ids: string[]): Elsewhere => ({
  kind: 'crontab',
  entries: ids.map((id) => ({ key: `crontab:${id}`, marker: { sourceId: 'src1', jobId: id as JobId, commit: null, path: 'a.yaml', index: 0, manifestHash: 'h' }, paused: false, drifted: false, raw: '' })),
});

/** A reconciler on cron.d whose finder answers from `answers`, one per call (the last repeats). */
function setup(answers: Elsewhere[][]) {
  const state = new MemoryStateStore();
  const calls: string[][] = [];
  const rec = createReconciler({
    config: agentConfig(state.dir), source: new MemorySource({ 'a.yaml': JOB }), adapter: new MemoryScheduler('src1'),
    scheduler: { kind: 'cron.d', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state,
    findElsewhere: async (owned) => {
      calls.push([...owned]);
      return answers[Math.min(calls.length, answers.length) - 1]!;
    },
  });
  return { rec, calls };
}

describe('reconcile/elsewhere', () => {
  it('reports this agent\'s entries left in another scheduler as a warning that names them and the way out; the sync applies', async () => {
    const { rec, calls } = setup([[left('acme/a', 'acme/gone')]]);

    const res = await rec.reconcile();
    const diff = await rec.reconcile({ dryRun: true });

    expect(res.result).toBe('ok');
    expect(res.status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'installed']]);
    expect(calls[0]).toEqual(['src1']);
    expect(res.status.problems).toEqual([{
      path: '', line: 0, column: 0, rule: 'other-scheduler', severity: 'warning',
      message: '2 jobs of this agent (acme/a, acme/gone) are still installed in the crontab scheduler, which this agent no longer uses (it uses cron.d): those entries keep starting `cronsync exec`, also for jobs removed from Git. Remove them with `cronsync prune --all --force --scheduler crontab` (same --config; it keeps the job snapshots while crontab is not the scheduler in use)',
    }]);
    expect(diff.context.elsewhere).toEqual([left('acme/a', 'acme/gone')]);
  });

  it('looks again each sync while entries remain, and no more once none are left', async () => {
    const { rec, calls } = setup([[left('acme/a')], [left('acme/a')], []]);

    const first = await rec.reconcile();
    const second = await rec.reconcile();
    const cleaned = await rec.reconcile();
    await rec.reconcile();
    await rec.reconcile();

    expect(first.status.problems.map((p) => p.rule)).toEqual(['other-scheduler']);
    expect(second.status.problems.map((p) => p.rule)).toEqual(['other-scheduler']);
    expect(cleaned.status.problems).toEqual([]);
    expect(calls).toHaveLength(3);
  });

  it('a dry run stopped by the removal guard still looks, read only, and reports them (diff at the guard)', async () => {
    const state = new MemoryStateStore();
    const source = new MemorySource({ 'a.yaml': JOB, 'b.yaml': JOB.replace('name: a', 'name: b') });
    const adapter = new MemoryScheduler('src1');
    const calls: string[][] = [];
    // A fresh reconciler per command, as one-shot `sync` and `diff` are: nothing carried over.
    const reconciler = (found: Elsewhere[]) => createReconciler({
      config: agentConfig(state.dir), source, adapter, scheduler: { kind: 'cron.d', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state,
      findElsewhere: async (owned) => {
        calls.push([...owned]);
        return found;
      },
    });
    expect((await reconciler([]).reconcile()).result).toBe('ok');
    const sourcesBefore = await state.readSources();
    source.files.clear();
    source.commit();

    const diff = await reconciler([left('acme/a', 'acme/b')]).reconcile({ dryRun: true });

    expect(diff.result).toBe('error');
    expect(diff.context.reason).toBe('RemovalGuardTripped');
    expect(diff.context.planned?.guard).toEqual({ removing: 2, installed: 2 });
    expect(calls).toEqual([['src1'], ['src1']]);
    expect(diff.context.elsewhere).toEqual([left('acme/a', 'acme/b')]);
    expect(diff.status.problems.map((p) => p.rule)).toEqual(['other-scheduler', 'RemovalGuardTripped']);
    expect(await state.readSources()).toEqual(sourcesBefore);
  });

  it('a failing look is logged and fails nothing', async () => {
    const state = new MemoryStateStore();
    const rec = createReconciler({
      config: agentConfig(state.dir), source: new MemorySource({ 'a.yaml': JOB }), adapter: new MemoryScheduler('src1'),
      scheduler: { kind: 'cron.d', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state,
      findElsewhere: () => Promise.reject(new Error('cannot read')),
    });

    const res = await rec.reconcile();

    expect(res.result).toBe('ok');
    expect(res.status.problems).toEqual([]);
  });
});

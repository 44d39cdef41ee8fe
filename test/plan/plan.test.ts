import { describe, expect, it } from 'vitest';
import type { DesiredJob } from '../../src/desired/types.js';
import type { JobId } from '../../src/manifest/types.js';
import { planChanges } from '../../src/plan/plan.js';
import type { PlanInput } from '../../src/plan/plan.js';
import { desiredOf, entryOf, makeJob } from '../fakes/jobs.js';

const a = desiredOf(makeJob('a'));
const b = desiredOf(makeJob('b'));
const c = desiredOf(makeJob('c'));
const d = desiredOf(makeJob('d'));

function input(over: Partial<PlanInput>): PlanInput {
  return {
    sourceId: 'src1', desired: new Map(), excluded: new Map(), invalid: new Set(), brokenFiles: new Set(),
    installed: [], applied: new Map(), isCurrent: () => true, prune: true, force: false, allowMassRemoval: false,
    ...over,
  };
}
const map = (...ds: DesiredJob[]): Map<JobId, DesiredJob> => new Map(ds.map((x) => [x.id, x]));
const ids = (ds: readonly { id: string }[]): string[] => ds.map((x) => x.id);

describe('plan/plan', () => {
  it('adds, updates and keeps unchanged jobs in id order', () => {
    const b2 = desiredOf(makeJob('b', { spec: { schedule: '5 * * * *', env: { SECRET: 'x' } } }));

    const { plan, guard } = planChanges(input({ desired: map(c, b2, a), installed: [entryOf(b), entryOf(a)], applied: map(a, b) }));

    expect(ids(plan.add)).toEqual(['acme/c']);
    expect(plan.update.map((u) => [u.desired.id, u.changes])).toEqual([['acme/b', ['env', 'schedule']]]);
    expect(ids(plan.unchanged)).toEqual(['acme/a']);
    expect(ids(plan.final)).toEqual(['acme/a', 'acme/b', 'acme/c']);
    expect(guard).toBeNull();
  });

  it('restores a hand-edited entry as drift', () => {
    const { plan } = planChanges(input({ desired: map(a), installed: [entryOf(a)], isCurrent: () => false }));

    expect(plan.update.map((u) => u.changes)).toEqual([['drift']]);
  });

  it('reports an entry whose marker an earlier version wrote (no URL) as a provenance change, not as drift', () => {
    const older = entryOf(a, { url: undefined, ref: undefined });

    const { plan } = planChanges(input({ desired: map(a), installed: [older], applied: map(a), isCurrent: (e) => e.marker?.url !== undefined }));
    const edited = planChanges(input({ desired: map(a), installed: [{ ...older, drifted: true }], applied: map(a), isCurrent: () => false })).plan;

    expect(plan.update.map((u) => u.changes)).toEqual([['provenance']]);
    expect(edited.update.map((u) => u.changes)).toEqual([['drift']]);
  });

  it('reports a manifest moved to another file as a path change, not as drift', () => {
    const moved = desiredOf(makeJob('a'), 'jobs/sub/a.yaml');

    const { plan } = planChanges(input({ desired: map(moved), installed: [entryOf(a)], applied: map(a), isCurrent: (e, job) => e.marker?.path === job.provenance.path }));

    expect(plan.update.map((u) => [u.desired.provenance.path, u.changes])).toEqual([['jobs/sub/a.yaml', ['path']]]);
  });

  it.each`
    name                 | over                                                               | removed      | kept         | orphaned
    ${'deleted'}         | ${{}}                                                              | ${['acme/b']} | ${[]}       | ${[]}
    ${'disabled'}        | ${{ excluded: new Map([['acme/b', 'disabled']]) }}                 | ${['acme/b']} | ${[]}       | ${[]}
    ${'other selector'}  | ${{ excluded: new Map([['acme/b', 'selector']]) }}                 | ${['acme/b']} | ${[]}       | ${[]}
    ${'invalid'}         | ${{ invalid: new Set(['acme/b']) }}                                | ${[]}         | ${['acme/b']} | ${[]}
    ${'file unparsable'} | ${{ brokenFiles: new Set(['jobs/b.yaml']) }}                       | ${[]}         | ${['acme/b']} | ${[]}
    ${'dir unreadable'}  | ${{ brokenFiles: new Set(['jobs']) }}                              | ${[]}         | ${['acme/b']} | ${[]}
    ${'other dir'}       | ${{ brokenFiles: new Set(['job']) }}                               | ${['acme/b']} | ${[]}       | ${[]}
    ${'dir, excluded'}   | ${{ brokenFiles: new Set(['jobs']), unselected: () => 'exclude' }} | ${['acme/b']} | ${[]}       | ${[]}
    ${'prune off'}       | ${{ prune: false }}                                                | ${[]}         | ${[]}       | ${['acme/b']}
  `('b $name: removed $removed, kept $kept, orphaned $orphaned', ({ over, removed, kept, orphaned }) => {
    const { plan } = planChanges(input({ desired: map(a, c, d), installed: [entryOf(a), entryOf(b), entryOf(c), entryOf(d)], applied: map(a, b, c, d), ...(over as object) }));

    expect(plan.remove.map((e) => e.marker?.jobId)).toEqual(removed);
    expect(ids(plan.kept)).toEqual(kept);
    expect(ids(plan.orphaned)).toEqual(orphaned);
    expect(ids(plan.final)).toEqual(['acme/a', ...(kept as string[]), ...(orphaned as string[]), 'acme/c', 'acme/d'].sort());
  });

  it('never removes a protected job whose manifest is gone', () => {
    const p = desiredOf(makeJob('p', { metadata: { labels: { 'cronsync.io/protect': 'true' } } }));

    const { plan, notes } = planChanges(input({ desired: map(a), installed: [entryOf(a), entryOf(p)], applied: map(a, p) }));

    expect(plan.remove).toEqual([]);
    expect(ids(plan.orphaned)).toEqual(['acme/p']);
    expect(notes.map((n) => n.kind)).toEqual(['orphaned']);
  });

  it('trips the mass-removal guard above half, unless forced or allowed', () => {
    const installed = [entryOf(a), entryOf(b), entryOf(c), entryOf(d)];

    const half = planChanges(input({ desired: map(a, b), installed, applied: map(a, b, c, d) }));
    const most = planChanges(input({ desired: map(a), installed, applied: map(a, b, c, d) }));
    const forced = planChanges(input({ desired: map(a), installed, applied: map(a, b, c, d), force: true }));
    const allowed = planChanges(input({ desired: new Map(), installed, applied: map(a, b, c, d), allowMassRemoval: true }));

    expect(half.guard).toBeNull();
    expect(most.guard).toEqual({ removing: 3, installed: 4 });
    expect(forced.guard).toBeNull();
    expect(allowed.guard).toBeNull();
  });

  it('leaves entries of other sources alone and reports a conflict', () => {
    const theirs = entryOf(desiredOf(makeJob('a'), 'x.yaml', 'b'.repeat(40), 'other-source'));
    const foreign = { key: 'line 3', marker: null, paused: false, drifted: false, raw: '* * * * * root true' };

    const { plan, notes } = planChanges(input({ desired: map(a), installed: [theirs, foreign] }));

    expect(plan.add).toEqual([]);
    expect(plan.remove).toEqual([]);
    expect(plan.conflicts).toEqual([theirs]);
    expect(notes[0]!.kind).toBe('conflict');
  });

  it('a conflict never drops our own entry of the job: it stays as applied, outside the removal count', () => {
    const theirs = entryOf(desiredOf(makeJob('a'), 'x.yaml', 'b'.repeat(40), 'other-source'));
    const a2 = desiredOf(makeJob('a', { spec: { schedule: '7 * * * *' } }));

    const withSnapshot = planChanges(input({ desired: map(a2, b), installed: [entryOf(a), entryOf(b), theirs], applied: map(a, b) }));
    const without = planChanges(input({ desired: map(a2, b), installed: [entryOf(a), entryOf(b), theirs], applied: map(b) }));

    expect(withSnapshot.plan.conflicts).toEqual([theirs]);
    expect(withSnapshot.plan.remove).toEqual([]);
    expect(withSnapshot.plan.kept).toEqual([a]);
    expect(ids(withSnapshot.plan.final)).toEqual(['acme/a', 'acme/b']);
    expect(without.plan.preserve).toEqual([entryOf(a)]);
    expect(without.plan.remove).toEqual([]);
  });

  it('preserves a kept entry that has no snapshot instead of dropping it', () => {
    const { plan } = planChanges(input({ desired: map(a), installed: [entryOf(a), entryOf(b)], invalid: new Set(['acme/b']) }));

    expect(plan.preserve.map((e) => e.marker?.jobId)).toEqual(['acme/b']);
    expect(plan.remove).toEqual([]);
  });

  it('holds back only a job whose entry the scheduler cannot hold, keeping what is installed of it', () => {
    const b2 = desiredOf(makeJob('b', { spec: { schedule: '5 * * * *' } }));
    const c2 = desiredOf(makeJob('c', { spec: { schedule: '7 * * * *' } }));
    const tooLong = new Set(['acme/b', 'acme/c', 'acme/d']);
    // b's last version renders; c's does not (the install path grew); d was never installed.
    const entryError = (x: DesiredJob): string | null => (tooLong.has(x.id) && x !== b ? 'command too long' : null);

    const { plan, notes, rejected, guard } = planChanges(input({ desired: map(a, b2, c2, d), installed: [entryOf(a), entryOf(b), entryOf(c)], applied: map(a, b, c), entryError }));

    expect(ids(plan.unchanged)).toEqual(['acme/a']);
    expect(plan.add).toEqual([]);
    expect(plan.update).toEqual([]);
    expect(plan.remove).toEqual([]);
    expect(ids(plan.kept)).toEqual(['acme/b']);
    expect(plan.kept[0]).toBe(b);
    expect(plan.preserve.map((e) => e.marker?.jobId)).toEqual(['acme/c']);
    expect(ids(plan.final)).toEqual(['acme/a', 'acme/b']);
    expect(rejected.map((r) => [r.job.id, r.installed])).toEqual([['acme/b', true], ['acme/c', true], ['acme/d', false]]);
    expect(notes.map((n) => [n.id, n.kind, n.path])).toEqual([['acme/b', 'entry-invalid', 'jobs/b.yaml'], ['acme/c', 'entry-invalid', 'jobs/c.yaml'], ['acme/d', 'entry-invalid', 'jobs/d.yaml']]);
    expect(notes[2]!.message).toMatch(/command too long; not installed/);
    expect(guard).toBeNull();
  });

  it('removes a duplicate entry left by an interrupted apply', () => {
    const { plan } = planChanges(input({ desired: map(a), installed: [entryOf(a), { ...entryOf(a), key: 'dup' }], applied: map(a) }));

    expect(plan.remove.map((e) => e.key)).toEqual(['dup']);
    expect(ids(plan.unchanged)).toEqual(['acme/a']);
  });

  describe('entries of a previous source id of this agent', () => {
    const old = (x: DesiredJob, over = {}) => ({ ...entryOf(x, { sourceId: 'old-id', ...over }), key: `old:${x.id}` });

    it('are ours: moved to the current id, updated, removed or kept by the usual rules', () => {
      const b2 = desiredOf(makeJob('b', { spec: { schedule: '5 * * * *' } }));

      const { plan, notes, guard } = planChanges(input({
        previousSourceIds: ['old-id', 'src1', 'old-id'],
        desired: map(a, b2),
        installed: [old(a), old(b), old(c), old(d)],
        applied: map(a, b, c, d),
        invalid: new Set(['acme/d']),
      }));

      expect(plan.ownedSourceIds).toEqual(['src1', 'old-id']);
      expect(plan.update.map((u) => [u.desired.id, u.changes])).toEqual([['acme/a', ['source']], ['acme/b', ['schedule', 'source']]]);
      expect(plan.remove.map((e) => e.key)).toEqual(['old:acme/c']);
      expect(ids(plan.kept)).toEqual(['acme/d']);
      expect(ids(plan.final)).toEqual(['acme/a', 'acme/b', 'acme/d']);
      expect(plan.conflicts).toEqual([]);
      expect(notes.map((n) => n.kind)).toEqual(['removed', 'kept-invalid']);
      expect(guard).toBeNull();
    });

    it('count for the mass-removal guard', () => {
      const { guard } = planChanges(input({ previousSourceIds: ['old-id'], desired: map(a), installed: [old(a), old(b), old(c)], applied: map(a, b, c) }));

      expect(guard).toEqual({ removing: 2, installed: 3 });
    });

    it('lose to an entry of the current id for the same job', () => {
      const { plan } = planChanges(input({ previousSourceIds: ['old-id'], desired: map(a), installed: [old(a), entryOf(a)], applied: map(a) }));

      expect(plan.remove.map((e) => e.key)).toEqual(['old:acme/a']);
      expect(ids(plan.unchanged)).toEqual(['acme/a']);
      expect(plan.update).toEqual([]);
    });

    it('only for recorded ids: any other id stays foreign, and nothing is owned without a record', () => {
      const stranger = { ...entryOf(a, { sourceId: 'stranger' }), key: 'stranger' };

      const recorded = planChanges(input({ previousSourceIds: ['old-id'], desired: map(a), installed: [stranger, old(b)], applied: map(b) }));
      const none = planChanges(input({ desired: map(a), installed: [old(a)] }));

      expect(recorded.plan.conflicts).toEqual([stranger]);
      expect(recorded.plan.add).toEqual([]);
      expect(recorded.plan.remove.map((e) => e.key)).toEqual(['old:acme/b']);
      expect(none.plan.ownedSourceIds).toEqual(['src1']);
      expect(none.plan.conflicts.map((e) => e.key)).toEqual(['old:acme/a']);
      expect(none.plan.update).toEqual([]);
    });
  });
});

import { describe, expect, it } from 'vitest';
import type { DesiredJob } from '../../src/desired/types.js';
import type { JobId } from '../../src/manifest/types.js';
import { planChanges } from '../../src/plan/plan.js';
import type { PlanInput } from '../../src/plan/plan.js';
import { makeUnselected } from '../../src/source/select.js';
import { desiredOf, entryOf, makeJob } from '../fakes/jobs.js';

const keep = desiredOf(makeJob('keep'), 'prod/keep.yaml');
const deleted = desiredOf(makeJob('deleted'), 'prod/deleted.yaml');
const outside = desiredOf(makeJob('outside'), 'staging/outside.yaml');
const excluded = desiredOf(makeJob('excluded'), 'prod/excluded.yaml');
const protectedOutside = desiredOf(makeJob('guarded', { metadata: { labels: { 'cronsync.io/protect': 'true' } } }), 'staging/guarded.yaml');
const extra = Array.from({ length: 4 }, (_, i) => desiredOf(makeJob(`extra-${i}`), `prod/extra-${i}.yaml`));

const map = (...ds: DesiredJob[]): Map<JobId, DesiredJob> => new Map(ds.map((x) => [x.id, x]));

/** Installed and applied: every job; desired: `keep` and the extras (the rest are gone from the selection). */
function input(over: Partial<PlanInput> = {}): PlanInput {
  const all = [keep, deleted, outside, excluded, protectedOutside, ...extra];
  return {
    sourceId: 'src2', previousSourceIds: ['src1'], desired: map(keep, ...extra), excluded: new Map(), invalid: new Set(), brokenFiles: new Set(),
    installed: all.map((d) => entryOf(d)), applied: map(...all), isCurrent: () => true, prune: true, force: false, allowMassRemoval: false,
    // source.paths narrowed from **/*.yaml to prod/**, with prod/excluded.yaml excluded
    unselected: makeUnselected(['prod/**/*.yaml'], ['prod/excluded.yaml']),
    ...over,
  };
}

describe('plan/plan: why a job gone from the selection is removed', () => {
  it('tells a manifest deleted from one left out by source.paths or source.exclude', () => {
    const { plan, notes } = planChanges(input());

    expect(plan.remove.map((e) => e.marker?.jobId)).toEqual(['acme/deleted', 'acme/excluded', 'acme/outside']);
    expect(notes.filter((n) => n.kind === 'removed').map((n) => n.message)).toEqual([
      'acme/deleted removed: manifest deleted',
      'acme/excluded removed: excluded by source.exclude',
      'acme/outside removed: no longer under source.paths',
    ]);
  });

  it('a protected job left out by source.paths stays, and says why its manifest is gone', () => {
    const { plan, notes } = planChanges(input());

    expect(plan.orphaned.map((d) => d.id)).toEqual(['acme/guarded']);
    expect(notes.filter((n) => n.kind === 'orphaned').map((n) => n.message)).toEqual([
      'acme/guarded: its manifest staging/guarded.yaml is no longer under source.paths, but the job is protected (cronsync.io/protect); left installed',
    ]);
  });

  it('a kept-invalid or orphaned note names the file the installed version came from (the status problem\'s path)', () => {
    const { notes } = planChanges(input({ invalid: new Set(['acme/deleted' as JobId]), prune: false }));

    expect(notes.filter((n) => n.kind === 'kept-invalid' || n.kind === 'orphaned').map((n) => [n.id, n.kind, n.path])).toEqual([
      ['acme/deleted', 'kept-invalid', 'prod/deleted.yaml'],
      ['acme/excluded', 'orphaned', 'prod/excluded.yaml'],
      ['acme/guarded', 'orphaned', 'staging/guarded.yaml'],
      ['acme/outside', 'orphaned', 'staging/outside.yaml'],
    ]);
  });

  it('with prune off every such job stays, each with its own reason', () => {
    const { plan, notes } = planChanges(input({ prune: false }));

    expect(plan.remove).toEqual([]);
    expect(notes.filter((n) => n.kind === 'orphaned').map((n) => n.message)).toEqual([
      'acme/deleted: manifest is gone; left installed because prune is off',
      'acme/excluded: its manifest prod/excluded.yaml is excluded by source.exclude; left installed because prune is off',
      'acme/guarded: its manifest staging/guarded.yaml is no longer under source.paths, but the job is protected (cronsync.io/protect); left installed',
      'acme/outside: its manifest staging/outside.yaml is no longer under source.paths; left installed because prune is off',
    ]);
  });

  it('jobs left out by the config count toward the mass-removal guard like deleted ones', () => {
    const { guard } = planChanges(input({ desired: map(keep) }));

    expect(guard).toEqual({ removing: 7, installed: 9 });
  });

  it('without the selection at hand, a job gone from it reads as deleted', () => {
    const { notes } = planChanges(input({ unselected: undefined }));

    expect(notes.filter((n) => n.kind === 'removed').map((n) => n.message)).toEqual([
      'acme/deleted removed: manifest deleted',
      'acme/excluded removed: manifest deleted',
      'acme/outside removed: manifest deleted',
    ]);
  });
});

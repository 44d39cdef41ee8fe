import { describe, expect, it } from 'vitest';
import type { InstalledEntry } from '../../src/plan/types.js';
import { parseSources, previousSourceIds, recordAfterApply, recordBeforeApply, serializeSources } from '../../src/reconcile/sources.js';
import { desiredOf, entryOf, makeJob } from '../fakes/jobs.js';

const a = desiredOf(makeJob('a'));

describe('reconcile/sources', () => {
  it.each([
    { name: 'missing', text: null, want: null },
    { name: 'not JSON', text: '{', want: null },
    { name: 'no current', text: '{"previous":[]}', want: null },
    { name: 'bad previous', text: '{"current":"x","previous":[1]}', want: null },
    { name: 'valid, normalised', text: '{"version":1,"current":"x","previous":["z","x","y","z"]}', want: { current: 'x', previous: ['y', 'z'] } },
  ])('parses $name', ({ text, want }) => {
    expect(parseSources(text)).toEqual(want);
  });

  it('serialises canonically and round-trips', () => {
    const text = serializeSources({ current: 'b', previous: ['c', 'a', 'b'] });

    expect(text).toBe('{\n  "version": 1,\n  "current": "b",\n  "previous": [\n    "a",\n    "c"\n  ]\n}\n');
    expect(parseSources(text)).toEqual({ current: 'b', previous: ['a', 'c'] });
  });

  it('previous ids: from the record, else from the job snapshots; never the current id', () => {
    const snapshots = new Map([[a.id, desiredOf(makeJob('a'), 'a.yaml', 'c'.repeat(40), 'snap-id')]]);

    expect(previousSourceIds({ current: 'old', previous: ['older'] }, 'new', snapshots)).toEqual(['old', 'older']);
    expect(previousSourceIds({ current: 'new', previous: [] }, 'new', snapshots)).toEqual([]);
    expect(previousSourceIds(null, 'new', snapshots)).toEqual(['snap-id']);
  });

  it('before an apply every owned id is kept; after it only ids with entries left (preserved) remain', () => {
    const plan = { sourceId: 'new', ownedSourceIds: ['new', 'old', 'older'] };
    const kept: InstalledEntry = entryOf(a, { sourceId: 'older' });
    const stranger: InstalledEntry = entryOf(a, { sourceId: 'stranger' });

    expect(recordBeforeApply(plan)).toEqual({ current: 'new', previous: ['old', 'older'] });
    expect(recordAfterApply({ ...plan, preserve: [kept, stranger] })).toEqual({ current: 'new', previous: ['older'] });
    expect(recordAfterApply({ ...plan, preserve: [] })).toEqual({ current: 'new', previous: [] });
  });
});

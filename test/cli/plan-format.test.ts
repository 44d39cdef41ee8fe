import { describe, expect, it } from 'vitest';
import { formatPlan } from '../../src/cli/plan-format.js';
import { planChanges } from '../../src/plan/plan.js';
import { desiredOf, entryOf, makeJob } from '../fakes/jobs.js';

describe('cli/plan-format', () => {
  it('prints +, ~ and - lines with schedule, zone, path, commit and what changed, then foreign entries', () => {
    const a = desiredOf(makeJob('a', { spec: { timezone: 'Europe/Berlin' } }));
    const b = desiredOf(makeJob('b'));
    const b2 = desiredOf(makeJob('b', { spec: { schedule: '5 4 * * *' } }), 'jobs/b.yaml', 'c'.repeat(40));
    const gone = desiredOf(makeJob('gone'));
    const foreign = { key: 'line 9', marker: null, paused: false, drifted: false, raw: '*/5 * * * * root /usr/local/bin/backup' };
    const installed = [entryOf(b), entryOf(gone), entryOf(gone, { jobId: 'acme/x', sourceId: 'other' }), foreign];

    const res = planChanges({
      sourceId: 'src1', desired: new Map([[a.id, a], [b2.id, b2]]), excluded: new Map(), invalid: new Set(), brokenFiles: new Set(),
      installed, applied: new Map([[b.id, b], [gone.id, gone]]), isCurrent: () => true, prune: true, force: false, allowMassRemoval: false,
    });
    const text = formatPlan(res, [], 'cron.d (/etc/cron.d/cronsync)', false, installed);

    expect(text.split('\n')).toEqual(expect.arrayContaining([
      '  + acme/a  0 2 * * * (Europe/Berlin)  jobs/a.yaml#0 @ aaaaaaaaaaaa',
      '  ~ acme/b  5 4 * * * (UTC)  jobs/b.yaml#0 @ cccccccccccc  changed: schedule',
      '  - acme/gone  removed: manifest deleted  (was jobs/gone.yaml @ aaaaaaaaaaaa)',
      '  = acme/x (source other)',
      '  = */5 * * * * root /usr/local/bin/backup',
      'Plan: 1 to add, 1 to change, 1 to remove, 0 unchanged.',
    ]));
  });
});

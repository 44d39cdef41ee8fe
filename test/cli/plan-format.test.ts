import { describe, expect, it } from 'vitest';
import { formatAgentProblems, formatPlan } from '../../src/cli/plan-format.js';
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

  it('escapes control and bidi characters from manifests, markers and foreign entries', () => {
    const evil = 'x\n\u001b[31mFAKE\u202e';
    const a = desiredOf(makeJob('a'), `jobs/${evil}.yaml`);
    const foreign = { key: 'line 1', marker: null, paused: false, drifted: false, raw: '* * * * * root /bin/\u001b[31mFAKE\u202e' };
    const theirs = entryOf(desiredOf(makeJob('t')), { jobId: `acme/${evil}` as never, sourceId: 'other' });
    const res = planChanges({
      sourceId: 'src1', desired: new Map([[a.id, a]]), excluded: new Map(), invalid: new Set(), brokenFiles: new Set(),
      installed: [foreign, theirs], applied: new Map(), isCurrent: () => true, prune: true, force: false, allowMassRemoval: false,
    });
    const issue = { file: `b${evil}.yaml`, line: 1, col: 2, path: 'spec.timezone', rule: 'timezone', severity: 'error' as const, message: `unknown time zone "${evil}"` };

    const text = formatPlan(res, [issue], 'cron.d', false, [foreign, theirs]) + formatAgentProblems({ secretsFileProblem: `Refusing ${evil}` }, false);

    expect(text).toContain('  + acme/a  0 2 * * * (UTC)  jobs/x\\n\\x1b[31mFAKE\\u{202e}.yaml#0');
    expect(text).toContain('  bx\\n\\x1b[31mFAKE\\u{202e}.yaml:1:2: [timezone] unknown time zone "x\\n\\x1b[31mFAKE\\u{202e}"');
    expect(text).toContain('  = * * * * * root /bin/\\x1b[31mFAKE\\u{202e}');
    expect(text).toContain('  = acme/x\\n\\x1b[31mFAKE\\u{202e} (source other)');
    expect(text).toContain('Problem [secrets-file]: Refusing x\\n');
    expect(text.split('\n').filter((l) => l.startsWith('FAKE'))).toEqual([]);
    expect([text.includes('\u001b'), text.includes('\u202e')]).toEqual([false, false]);
  });
});

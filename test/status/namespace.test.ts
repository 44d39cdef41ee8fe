import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/cli/commands/status.js';
import type { StatusFile, StatusJob } from '../../src/status/types.js';

const AT = '2026-12-01T10:00:00.000Z';

function status(jobs: StatusJob[]): StatusFile {
  return {
    schemaVersion: 1,
    agent: { name: 'host1', tenant: 'acme-corp', labels: {}, version: '0.1.0' },
    scheduler: { kind: 'embedded', reason: 'test' },
    source: { id: 's', url: '/repo', ref: 'main', commit: null, fetchedAt: AT },
    lastAttempt: { startedAt: AT, finishedAt: AT, result: 'ok', error: null },
    lastSuccess: { startedAt: AT, finishedAt: AT, commit: null },
    counts: { desired: 2, installed: 2, added: 0, updated: 0, removed: 0, unchanged: 2, invalid: 0, conflicts: 0, orphaned: 0 },
    jobs, problems: [], checkins: { spooled: 0, dropped: 0 },
  };
}

const row = (id: string, namespace: string | undefined): StatusJob => ({
  id, ...(namespace === undefined ? {} : { namespace }), path: 'x.yaml', commit: null, schedule: '0 2 * * *', timezone: 'UTC', nextRun: null, state: 'installed', lastRun: null,
});

describe('cli/commands/status formatStatus: namespace', () => {
  it('shows each job\'s namespace next to its id', () => {
    const text = formatStatus(status([row('acme-corp/backup', 'production'), row('acme-corp/tidy', 'default')]), { ok: true, why: 'ok' }, Date.parse(AT), false);

    expect(text.split('\n').filter((l) => /^(JOB|acme-corp)/.test(l))).toEqual([
      'JOB               NAMESPACE   SCHEDULE   ZONE  NEXT RUN  STATE      LAST RUN',
      'acme-corp/backup  production  0 2 * * *  UTC   -         installed  -',
      'acme-corp/tidy    default     0 2 * * *  UTC   -         installed  -',
    ]);
  });

  it('leaves the cell blank for a row of a status file written before rows had a namespace', () => {
    const text = formatStatus(status([row('acme-corp/old', undefined)]), { ok: true, why: 'ok' }, Date.parse(AT), false);

    expect(text.split('\n').filter((l) => /^(JOB|acme-corp)/.test(l))).toEqual([
      'JOB            NAMESPACE  SCHEDULE   ZONE  NEXT RUN  STATE      LAST RUN',
      'acme-corp/old             0 2 * * *  UTC   -         installed  -',
    ]);
  });
});

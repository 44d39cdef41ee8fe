import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeLastRun } from '../../src/state/runs.js';
import type { StatusFile } from '../../src/status/types.js';
import { testTempDir } from '../system/tempdir.js';
import { cli } from './helpers.js';

const EVIL = 'x\n\u001b[31mFAKE\u202e';

/** A status file whose manifest-borne strings carry a newline, an ESC sequence and a bidi override. */
function evilStatus(now: Date): StatusFile {
  const at = now.toISOString();
  return {
    schemaVersion: 1,
    agent: { name: 'host1', tenant: 'acme', labels: {}, version: '0.1.0' },
    scheduler: { kind: 'cron.d', reason: 'test' },
    source: { id: 's', url: '/repo', ref: 'main', commit: null, fetchedAt: at },
    lastAttempt: { startedAt: at, finishedAt: at, result: 'partial', error: null },
    lastSuccess: { startedAt: at, finishedAt: at, commit: null },
    counts: { desired: 1, installed: 0, added: 0, updated: 0, removed: 0, unchanged: 0, invalid: 1, conflicts: 0, orphaned: 0 },
    jobs: [{ id: 'acme/a', path: `jobs/${EVIL}.yaml`, commit: null, schedule: '', timezone: '', nextRun: null, state: 'invalid', lastRun: null, reason: `unknown time zone "${EVIL}"` }],
    problems: [{ path: `jobs/${EVIL}.yaml`, line: 7, column: 13, rule: 'timezone', severity: 'error', message: `unknown time zone "${EVIL}"` }],
    checkins: { spooled: 0, dropped: 0 },
  };
}

describe('cli/commands/status', { timeout: 20_000 }, () => {
  it('escapes control and bidi characters from the status file in text output, and keeps them exact in --json', async () => {
    const dir = testTempDir('cronsync-status-cli-');
    writeFileSync(join(dir, 'status.json'), JSON.stringify(evilStatus(new Date())));

    const text = await cli(['status', '--state-dir', dir], dir);
    const json = await cli(['status', '--json', '--state-dir', dir], dir);

    expect(text.out).toContain('jobs/x\\n\\x1b[31mFAKE\\u{202e}.yaml:7:13: error [timezone] unknown time zone "x\\n\\x1b[31mFAKE\\u{202e}"');
    expect(text.out).toContain('  acme/a: unknown time zone "x\\n\\x1b[31mFAKE\\u{202e}"');
    expect([text.out.includes('\u001b'), text.out.includes('\u202e')]).toEqual([false, false]);
    expect(text.out.split('\n').filter((l) => l.startsWith('FAKE') || l.startsWith('\u001b'))).toEqual([]);
    expect(text.out).toMatch(/^acme\/a +- +- +- +invalid +-$/m);
    expect(JSON.parse(json.out).problems[0].message).toBe(`unknown time zone "${EVIL}"`);
    expect(text.code).toBe(0);
  });

  it('shows each job\'s last run as recorded since the sync, and none for a job that has not run', async () => {
    const dir = testTempDir('cronsync-status-cli-');
    const status = evilStatus(new Date());
    const row = { path: 'jobs/a.yaml', commit: null, schedule: '0 2 * * *', timezone: 'UTC', nextRun: null, state: 'installed' as const, lastRun: null };
    status.jobs = [{ ...row, id: 'acme/ran' }, { ...row, id: 'acme/never' }];
    status.problems = [];
    writeFileSync(join(dir, 'status.json'), JSON.stringify(status));
    await writeLastRun(dir, 'acme/ran', { runId: 'r1', startedAt: '2026-12-06T02:00:00.000Z', finishedAt: '2026-12-06T02:00:01.000Z', status: 'failure', exitCode: 3, durationMs: 1000, attempts: 2 });

    const json = await cli(['status', '--json', '--state-dir', dir], dir);

    const jobs = JSON.parse(json.out).jobs as { id: string; lastRun: unknown }[];
    expect(jobs.map((j) => [j.id, j.lastRun])).toEqual([
      ['acme/ran', { startedAt: '2026-12-06T02:00:00.000Z', status: 'failure', exitCode: 3, durationMs: 1000, attempts: 2 }],
      ['acme/never', null],
    ]);
  });

  it('exits 2 on a bad --log-level, as on an unknown flag', async () => {
    const dir = testTempDir('cronsync-status-cli-');

    const bad = await cli(['status', '--state-dir', dir, '--log-level', 'loud'], dir);
    const unknown = await cli(['status', '--state-dir', dir, '--loud'], dir);

    expect(bad.err).toMatch(/Unknown log level "loud"/);
    expect([bad.code, unknown.code]).toEqual([2, 2]);
  });
});

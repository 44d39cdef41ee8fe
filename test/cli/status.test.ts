import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
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

  it('without --config, judges staleness by the interval the daemon recorded in the status file, else by 60s', async () => {
    const now = Date.now();
    const status = evilStatus(new Date(now - 5 * 60_000));
    status.jobs = [];
    status.problems = [];
    const write = (daemon: StatusFile['daemon']): string => {
      const dir = testTempDir('cronsync-status-cli-');
      writeFileSync(join(dir, 'status.json'), JSON.stringify({ ...status, ...(daemon === undefined ? {} : { daemon }) }));
      return dir;
    };
    const daemon = (intervalMs: number): StatusFile['daemon'] => ({ consecutiveFailures: 0, nextAttemptAt: null, intervalMs });

    const tenMinutes = await cli(['status', '--json', '--state-dir', write(daemon(600_000))], '/');
    const oneMinute = await cli(['status', '--json', '--state-dir', write(daemon(60_000))], '/');
    const oneShot = await cli(['status', '--json', '--state-dir', write(undefined)], '/');

    expect([tenMinutes.code, JSON.parse(tenMinutes.out).health]).toEqual([0, 'applied, with problems']);
    expect([oneMinute.code, JSON.parse(oneMinute.out).health]).toEqual([1, 'last successful sync was 5m ago (more than 3 intervals of 60s)']);
    expect([oneShot.code, JSON.parse(oneShot.out).health]).toEqual([1, 'last successful sync was 5m ago (more than 3 intervals of 60s)']);
  });

  it.each([
    { name: 'a commit that is a number', patch: { source: { id: 's', url: '/repo', ref: 'main', commit: 5, fetchedAt: null } }, want: 'source.commit must be a string or null, not 5' },
    { name: 'a job id that is a number', patch: { jobs: [{ id: 5, path: 'p', commit: null, schedule: '', timezone: '', nextRun: null, state: 'invalid', lastRun: null }] }, want: 'jobs[0].id must be a string, not 5' },
    { name: 'an empty last run', patch: { jobs: [{ id: 'acme/a', path: 'p', commit: null, schedule: '* * * * *', timezone: 'UTC', nextRun: null, state: 'installed', lastRun: {} }] }, want: 'jobs[0].lastRun.startedAt is missing' },
    { name: 'an agent name that is an object', patch: { agent: { name: {}, tenant: 'acme', labels: {}, version: '1' } }, want: 'agent.name must be a string, not an object' },
    { name: 'an empty problem', patch: { problems: [{}] }, want: 'problems[0].path is missing' },
    { name: 'schemaVersion "1" (a string)', patch: { schemaVersion: '1' }, want: 'schemaVersion must be 1, not "1"' },
    { name: 'a daemon interval that is text', patch: { daemon: { consecutiveFailures: 0, nextAttemptAt: null, intervalMs: '10m' } }, want: 'daemon.intervalMs must be an integer, not "10m"' },
    { name: 'a result out of its list', patch: { lastAttempt: { startedAt: 'a', finishedAt: 'b', result: 'fine', error: null } }, want: 'lastAttempt.result must be one of ok, partial, error, not "fine"' },
    { name: 'a label with an escape in its name', patch: { agent: { name: 'h', tenant: 'acme', labels: { 'r\u001b[2J': 1 }, version: '1' } }, want: 'agent.labels["r\\u001b[2J"] must be a string, not 1' },
  ])('reports $name as the first problem of a damaged status file, naming file and field, without an internal error', async ({ patch, want }) => {
    const dir = testTempDir('cronsync-status-cli-');
    writeFileSync(join(dir, 'status.json'), JSON.stringify({ ...evilStatus(new Date()), ...patch }));

    const text = await cli(['status', '--state-dir', dir], dir);
    const json = await cli(['status', '--json', '--state-dir', dir], dir);

    expect(text).toEqual({ code: 1, out: '', err: `cronsync: ${join(dir, 'status.json')} is damaged: ${want}; the next sync rewrites it\n` });
    expect(json).toEqual(text);
  });

  it('--state-dir naming a file is a usage error naming the flag (exit 2), not a raw ENOTDIR', async () => {
    const dir = testTempDir('cronsync-status-cli-');
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x\n');

    const res = await cli(['status', '--state-dir', file], dir);

    expect(res).toEqual({ code: 2, out: '', err: `cronsync: --state-dir ${file} is not a directory\n` });
  });

  it('reports another schemaVersion as a version this cronsync does not read', async () => {
    const dir = testTempDir('cronsync-status-cli-');
    writeFileSync(join(dir, 'status.json'), JSON.stringify({ ...evilStatus(new Date()), schemaVersion: 2 }));

    const res = await cli(['status', '--state-dir', dir], dir);

    expect(res).toEqual({ code: 1, out: '', err: `cronsync: ${join(dir, 'status.json')} has schemaVersion 2; this cronsync reads version 1\n` });
  });

  it('a sync or run dated ahead of the clock (the clock went back) shows as in the future, and the agent is not judged healthy on it', async () => {
    const dir = testTempDir('cronsync-status-cli-');
    const ahead = new Date(Date.now() + 3 * 3_600_000);
    const status = evilStatus(ahead);
    status.problems = [];
    status.jobs = [{ id: 'acme/a', path: 'p', commit: null, schedule: '* * * * *', timezone: 'UTC', nextRun: null, state: 'installed', lastRun: null }];
    writeFileSync(join(dir, 'status.json'), JSON.stringify(status));
    await writeLastRun(dir, 'acme/a', { runId: 'r1', startedAt: ahead.toISOString(), finishedAt: ahead.toISOString(), status: 'success', exitCode: 0, durationMs: 1, attempts: 1 });

    const text = await cli(['status', '--state-dir', dir], dir);
    const json = await cli(['status', '--json', '--state-dir', dir], dir);

    expect(text.code).toBe(1);
    expect(text.out).toContain('Last sync: partial 3h in the future');
    expect(text.out).toMatch(/^acme\/a .* success \(exit 0\) 3h in the future$/m);
    expect([json.code, JSON.parse(json.out).health]).toEqual([1, 'last successful sync is dated 3h in the future (the clock went back?)']);
  });

  it('shows a last run or sync time that is no time as it is, never NaN', async () => {
    const dir = testTempDir('cronsync-status-cli-');
    const status = evilStatus(new Date());
    status.lastAttempt.finishedAt = 'soon';
    status.jobs = [{ id: 'acme/a', path: 'p', commit: null, schedule: '* * * * *', timezone: 'UTC', nextRun: null, state: 'installed', lastRun: { startedAt: 'yesterday', status: 'success', exitCode: 0, durationMs: 1, attempts: 1 } }];
    writeFileSync(join(dir, 'status.json'), JSON.stringify(status));

    const text = await cli(['status', '--state-dir', dir], dir);

    expect(text.out).toContain('Last sync: partial at "soon"');
    expect(text.out).toMatch(/^acme\/a .* success \(exit 0\) at "yesterday"$/m);
    expect(text.out).not.toContain('NaN');
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO or a link to /dev/zero as the status file, naming it, without blocking or reading it', async () => {
    const fifoDir = testTempDir('cronsync-status-cli-');
    const fifo = join(fifoDir, 'status.json');
    execFileSync('mkfifo', [fifo]);
    onTestFinished(() => {
      // A reader blocked on the FIFO (the bug) gets its end of file.
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // No reader: nothing blocked.
      }
    });
    const zeroDir = testTempDir('cronsync-status-cli-');
    symlinkSync('/dev/zero', join(zeroDir, 'status.json'));

    const fromFifo = await cli(['status', '--state-dir', fifoDir], fifoDir);
    const fromZero = await cli(['status', '--state-dir', zeroDir], zeroDir);

    expect(fromFifo).toEqual({ code: 1, out: '', err: `cronsync: ${fifo} is a FIFO, not a regular file; remove it, and the next sync writes the status file again\n` });
    expect(fromZero).toEqual({ code: 1, out: '', err: `cronsync: ${join(zeroDir, 'status.json')} is a character device, not a regular file; remove it, and the next sync writes the status file again\n` });
  });

  it('exits 2 on a bad --log-level, as on an unknown flag', async () => {
    const dir = testTempDir('cronsync-status-cli-');

    const bad = await cli(['status', '--state-dir', dir, '--log-level', 'loud'], dir);
    const unknown = await cli(['status', '--state-dir', dir, '--loud'], dir);

    expect(bad.err).toMatch(/Unknown log level "loud"/);
    expect([bad.code, unknown.code]).toEqual([2, 2]);
  });
});
